/**
 * `step.waitForEvent`: events sent before the wait are buffered in order and consumed by the first
 * matching wait; an event during the wait wakes the instance at once; a wait without an event
 * times out; events to a finished instance are refused.
 */
import { describe, expect, it } from "vitest";
import { expectErrored, runUntilSettled } from "./assertions";
import { T0, api, instance, json, lifecycle, nextRunAt, run, sendEvent, start } from "./helpers";
import { holdStep } from "./workflows";

describe("POST /api/instances/:id/events/:type", () => {
  it("wakes a waiting instance at once and hands it the payload", async () => {
    const id = await start("test-waiter");
    let view = await runUntilSettled(id);
    expect(view.status).toBe("waiting");
    expect(view.steps[0]).toMatchObject({
      kind: "wait",
      status: "waiting",
      wakeAt: new Date(T0 + 3_600_000).toISOString(),
    });
    expect(await nextRunAt(id)).toBe(T0 + 3_600_000);

    const response = await sendEvent(id, "ping", "one");
    expect(response.status).toBe(202);
    // The event's id (the first event of this instance) is what `DELETE …/events/:eventId` takes.
    expect(await response.json()).toEqual({ id, status: "waiting", eventId: 1 });
    // The event moved the run task to now.
    expect(await nextRunAt(id)).toBe(T0);
    view = await runUntilSettled(id);
    expect(view.steps[0]).toMatchObject({
      status: "complete",
      output: { type: "ping", payload: "one", timestamp: new Date(T0).toISOString() },
    });
    expect(view.steps[1]).toMatchObject({ key: "second ping#1", status: "waiting" });
  });

  it("buffers events sent before the wait, in order, one per wait", async () => {
    const id = await start("test-waiter");
    // The instance has not run yet: both events wait in the buffer.
    expect((await sendEvent(id, "ping", "one")).status).toBe(202);
    expect((await sendEvent(id, "ping", "two")).status).toBe(202);
    expect((await sendEvent(id, "pong", "three")).status).toBe(202);
    const view = await runUntilSettled(id);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual({ first: "one", second: "two", pong: "three" });
  });

  it("hands an event sent while a run is in progress to the wait that run reaches", async () => {
    const id = await start("test-gate-then-wait");
    const { entered, open } = holdStep(id);
    const running = run(id);
    await entered;
    expect((await instance(id)).status).toBe("running");
    expect((await sendEvent(id, "go", "during")).status).toBe(202);
    open();
    await running;
    // Same run: the wait found the event and the instance completed without waiting.
    const view = await instance(id);
    expect(view.status).toBe("complete");
    expect(view.output).toBe("during");
  });

  it("wakes at once when the event came while the suspending run was still finishing a step", async () => {
    const id = await start("test-wait-beside-step");
    const { entered, open } = holdStep(id);
    const running = run(id);
    await entered; // the wait found nothing and suspends; the run waits for "slow" to finish
    await sendEvent(id, "go", "meanwhile");
    open();
    await running;
    // The suspending run scheduled its next run for now, not for the wait's deadline an hour
    // later. The queue runs work scheduled during a run in the next run, 1 ms on.
    expect(await nextRunAt(id)).toBe(T0 + 1);
    const view = await runUntilSettled(id, T0 + 1);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual(["meanwhile", "slow done"]);
  });

  it("keeps an event of another type for a later wait", async () => {
    const id = await start("test-waiter");
    await run(id);
    await sendEvent(id, "pong", "early pong");
    await run(id);
    // The pong did not satisfy the ping wait; the wait keeps its deadline.
    expect((await instance(id)).steps[0]!.status).toBe("waiting");
    expect(await nextRunAt(id)).toBe(T0 + 3_600_000);
    await sendEvent(id, "ping", "one");
    await sendEvent(id, "ping", "two");
    await run(id);
    expect((await instance(id)).output).toEqual({ first: "one", second: "two", pong: "early pong" });
  });

  it("times out a wait with no event and throws a WaitTimeoutError the workflow can catch", async () => {
    const id = await start("test-waiter");
    await sendEvent(id, "ping", "one");
    await sendEvent(id, "ping", "two");
    let view = await runUntilSettled(id);
    expect(view.steps[2]).toMatchObject({ key: "pong#1", status: "waiting" });
    view = await runUntilSettled(id, T0 + 5 * 60_000);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual({ first: "one", second: "two", pong: "timed out: WaitTimeoutError" });
    expect(view.steps[2]).toMatchObject({
      status: "errored",
      error: { name: "WaitTimeoutError", message: 'Step "pong" waited 300000 ms for an event "pong" and none came.' },
    });
  });

  it("fails the instance when an uncaught wait times out", async () => {
    const id = await start("order", { orderId: "o-timeout", amount: 10 });
    await run(id);
    const view = await runUntilSettled(id, T0 + 86_400_000);
    expectErrored(view, "WaitTimeoutError");
  });

  it("refuses events to a finished instance with a 409", async () => {
    const id = await start("test-waiter");
    await sendEvent(id, "ping", "one");
    await sendEvent(id, "ping", "two");
    await sendEvent(id, "pong", "three");
    await run(id);
    expect((await instance(id)).status).toBe("complete");
    const response = await sendEvent(id, "ping", "late");
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({
      type: "urn:durable-patterns:problem:illegal-transition",
      detail: `Cannot send an event to instance "${id}": it is complete.`,
      instanceStatus: "complete",
    });
  });

  it("answers 404 for an event to an instance that does not exist", async () => {
    const response = await sendEvent("never-created", "ping", 1);
    expect(response.status).toBe(404);
  });
});

/** Sends an event with an idempotency key. */
function sendKeyed(id: string, type: string, payload: unknown, idempotencyKey: unknown): Promise<Response> {
  return api(`/api/instances/${id}/events/${type}`, json("POST", { payload, idempotencyKey }));
}

describe("retried events (idempotencyKey)", () => {
  it("answers a repeated event with the same idempotency key like the first and stores it once", async () => {
    const id = await start("test-waiter");
    const first = await sendKeyed(id, "ping", "one", "ping-1");
    expect(first.status).toBe(202);
    const answer = await first.json();
    expect(answer).toMatchObject({ id, status: "queued" });
    // The instance runs and now waits for a second ping; the client, whose 202 was lost, retries.
    await run(id);
    expect((await instance(id)).steps[1]).toMatchObject({ key: "second ping#1", status: "waiting" });
    const again = await sendKeyed(id, "ping", "one", "ping-1");
    // The same status and body as the first answer (the instance was queued then), and nothing stored:
    // the instance did not wake, and the wait still waits.
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual(answer);
    expect(await nextRunAt(id)).toBe(T0 + 3_600_000);
    await run(id);
    expect((await instance(id)).steps[1]).toMatchObject({ key: "second ping#1", status: "waiting" });
    // Only the next distinct event satisfies the second wait.
    expect((await sendKeyed(id, "ping", "two", "ping-2")).status).toBe(202);
    expect((await sendKeyed(id, "pong", "three", "pong-1")).status).toBe(202);
    const view = await runUntilSettled(id);
    expect([view.status, view.output]).toEqual(["complete", { first: "one", second: "two", pong: "three" }]);
    // Even once the instance is complete, a retry still gets the first answer, not a 409.
    const late = await sendKeyed(id, "pong", "three", "pong-1");
    expect(late.status).toBe(202);
    expect(await late.json()).toMatchObject({ id, status: "waiting" });
  });

  it("keeps idempotency keys unique per instance, not across instances", async () => {
    const a = await start("test-waiter");
    const b = await start("test-waiter");
    expect((await sendKeyed(a, "ping", "for a", "same-key")).status).toBe(202);
    expect((await sendKeyed(b, "ping", "for b", "same-key")).status).toBe(202);
    await run(a);
    await run(b);
    expect((await instance(a)).steps[0]).toMatchObject({ status: "complete", output: { payload: "for a" } });
    expect((await instance(b)).steps[0]).toMatchObject({ status: "complete", output: { payload: "for b" } });
  });

  it("refuses a key reused for another event with a 422 and stores nothing", async () => {
    const id = await start("test-waiter");
    expect((await sendKeyed(id, "ping", "one", "k-1")).status).toBe(202);
    for (const [type, payload] of [
      ["ping", "other payload"],
      ["pong", "one"],
    ] as const) {
      const response = await sendKeyed(id, type, payload, "k-1");
      expect(response.status).toBe(422);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(await response.json()).toMatchObject({
        type: "urn:durable-patterns:problem:idempotency-key-reused",
        status: 422,
      });
    }
    await run(id);
    // One ping was stored: the first wait has it, the second still waits; no pong is pending.
    const view = await instance(id);
    expect(view.steps.map((s) => [s.key, s.status])).toEqual([
      ["first ping#1", "complete"],
      ["second ping#1", "waiting"],
    ]);
  });

  it("refuses a malformed idempotency key with a 422 and stores nothing", async () => {
    const id = await start("test-waiter");
    for (const key of ["", "has space", "x".repeat(129), 42, "é"]) {
      const response = await sendKeyed(id, "ping", "bad", key);
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:invalid-body" });
    }
    await run(id);
    expect((await instance(id)).steps[0]).toMatchObject({ key: "first ping#1", status: "waiting" });
  });
});

/** Sends `n` events of `type`, 50 at a time, and returns their statuses. */
async function flood(id: string, type: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, (_, j) => sendEvent(id, type, i + j));
    statuses.push(...(await Promise.all(batch)).map((r) => r.status));
  }
  return statuses;
}

type EventPage = {
  events: {
    id: number;
    type: string;
    payload?: unknown;
    payloadBytes: number;
    receivedAt: string;
    idempotencyKey: string | null;
  }[];
  next: string | null;
};

async function pending(id: string, query = ""): Promise<EventPage> {
  const response = await api(`/api/instances/${id}/events${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as EventPage;
}

describe("event backlog", () => {
  it("accepts the event a wait needs while 1,000 events of another type are pending, and caps each type at 1,000", async () => {
    const id = await start("test-waiter");
    await run(id); // waits for a ping
    expect((await flood(id, "junk", 1_000)).every((status) => status === 202)).toBe(true);
    // The type's backlog is full: a 1,001st is refused, as problem+json, and stored nowhere.
    const refused = await sendEvent(id, "junk", "one too many");
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(await refused.json()).toMatchObject({
      type: "urn:durable-patterns:problem:too-many-events",
      status: 409,
      eventType: "junk",
      limit: 1_000,
    });
    // Any other type is still accepted: the ping the wait needs, and a pong for later.
    expect((await sendEvent(id, "ping", "needed")).status).toBe(202);
    expect((await sendEvent(id, "pong", "later")).status).toBe(202);
    await run(id);
    expect((await instance(id)).steps[0]).toMatchObject({ status: "complete", output: { payload: "needed" } });
    // Deleting one junk event makes room for one more.
    const first = (await pending(id, "?type=junk&limit=1")).events[0]!;
    expect([first.type, first.payload]).toEqual(["junk", 0]);
    expect((await api(`/api/instances/${id}/events/${first.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await sendEvent(id, "junk", "room again")).status).toBe(202);
    expect((await sendEvent(id, "junk", "full again")).status).toBe(409);
  });

  it("always accepts an event that matches an active wait, even past its type's cap", async () => {
    const id = await start("test-waiter");
    await run(id); // waits for a ping; the pings below are not run, so they stay pending
    expect((await flood(id, "ping", 1_000)).every((status) => status === 202)).toBe(true);
    const response = await sendEvent(id, "ping", "past the cap");
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ id, status: "waiting", eventId: 1_001 });
    // A type no wait waits for is still capped at 1,000.
    expect((await flood(id, "pong", 1_000)).every((status) => status === 202)).toBe(true);
    expect((await sendEvent(id, "pong", "refused")).status).toBe(409);
  });

  it("lists pending events page by page, and a deleted event is never handed to a wait", async () => {
    const id = await start("test-waiter");
    expect((await sendEvent(id, "ping", "one")).status).toBe(202);
    expect(
      (await api(`/api/instances/${id}/events/ping`, json("POST", { payload: "two", idempotencyKey: "k2" }))).status,
    ).toBe(202);
    expect((await sendEvent(id, "ping", "three")).status).toBe(202);
    expect((await sendEvent(id, "pong", { n: 4 })).status).toBe(202);

    // Grouped by type, each in order of receipt; `next` is the cursor for the following page.
    const page1 = await pending(id, "?limit=2");
    expect(page1.events).toEqual([
      {
        id: 1,
        type: "ping",
        payload: "one",
        payloadBytes: 5,
        receivedAt: new Date(T0).toISOString(),
        idempotencyKey: null,
      },
      {
        id: 2,
        type: "ping",
        payload: "two",
        payloadBytes: 5,
        receivedAt: new Date(T0).toISOString(),
        idempotencyKey: "k2",
      },
    ]);
    expect(page1.next).not.toBeNull();
    const page2 = await pending(id, `?limit=2&after=${encodeURIComponent(page1.next!)}`);
    expect(page2.events.map((e) => [e.id, e.type, e.payload])).toEqual([
      [3, "ping", "three"],
      [4, "pong", { n: 4 }],
    ]);
    expect(page2.next).toBeNull();

    // Delete the first ping: the waits get "two" and "three".
    expect((await api(`/api/instances/${id}/events/1`, { method: "DELETE" })).status).toBe(204);
    const again = await api(`/api/instances/${id}/events/1`, { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ type: "urn:durable-patterns:problem:no-such-event", status: 404 });
    expect((await pending(id)).events.map((e) => e.id)).toEqual([2, 3, 4]);
    const view = await runUntilSettled(id);
    expect([view.status, view.output]).toEqual(["complete", { first: "two", second: "three", pong: { n: 4 } }]);
    expect(await pending(id)).toEqual({ events: [], next: null });
  });

  it("never gives a later event the id of a deleted one, so a retried DELETE cannot delete another event", async () => {
    const id = await start("test-waiter");
    const first = (await (await sendEvent(id, "pong", "unwanted")).json()) as { eventId: number };
    expect((await api(`/api/instances/${id}/events/${first.eventId}`, { method: "DELETE" })).status).toBe(204);
    // The newest event was deleted: SQLite would hand its rowid out again were the row removed.
    const next = (await (await sendEvent(id, "pong", "wanted")).json()) as { eventId: number };
    expect(next.eventId).toBe(first.eventId + 1);
    // The DELETE retried after a lost answer deletes nothing more.
    expect((await api(`/api/instances/${id}/events/${first.eventId}`, { method: "DELETE" })).status).toBe(404);
    expect((await pending(id)).events.map((e) => [e.id, e.payload])).toEqual([[next.eventId, "wanted"]]);
  });

  it("answers a retried send of a deleted event like the first and never stores or hands it out again", async () => {
    const id = await start("test-waiter");
    const send = () =>
      api(`/api/instances/${id}/events/ping`, json("POST", { payload: "unwanted", idempotencyKey: "u-1" }));
    const first = await send();
    expect(first.status).toBe(202);
    const answer = (await first.json()) as { eventId: number };
    expect((await api(`/api/instances/${id}/events/${answer.eventId}`, { method: "DELETE" })).status).toBe(204);
    const retry = await send();
    expect(retry.status).toBe(202);
    expect(await retry.json()).toEqual(answer);
    expect(await pending(id)).toEqual({ events: [], next: null });
    // Nor does a restart bring it back: the wait finds nothing.
    expect((await lifecycle(id, "restart")).status).toBe(200);
    await run(id);
    expect((await instance(id)).steps[0]).toMatchObject({ key: "first ping#1", status: "waiting" });
  });

  it("refuses bad event ids, cursors and limits with a 400, and events of an unknown instance with a 404", async () => {
    const id = await start("test-waiter");
    await sendEvent(id, "ping", "one");
    for (const path of [`events/abc`, `events/0`, `events/-1`, `events/1.5`]) {
      const response = await api(`/api/instances/${id}/${path}`, { method: "DELETE" });
      expect([path, response.status, response.headers.get("content-type")]).toEqual([
        path,
        400,
        "application/problem+json",
      ]);
    }
    for (const query of ["?limit=0", "?limit=101", "?limit=x", "?after=nope", "?type=bad%20type"]) {
      const response = await api(`/api/instances/${id}/events${query}`);
      expect([query, response.status, response.headers.get("content-type")]).toEqual([
        query,
        400,
        "application/problem+json",
      ]);
    }
    expect((await api(`/api/instances/never-created/events`)).status).toBe(404);
    expect((await api(`/api/instances/never-created/events/1`, { method: "DELETE" })).status).toBe(404);
    // Nothing was deleted.
    expect((await pending(id)).events.map((e) => e.payload)).toEqual(["one"]);
  });
});
