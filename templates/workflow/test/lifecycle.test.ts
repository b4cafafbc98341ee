/**
 * Creating instances and steering them: pause, resume, terminate and restart from every status,
 * and a 409 for every transition that makes no sense.
 */
import { describe, expect, it } from "vitest";
import { INSTANCE_STATUSES, type InstanceStatus } from "../src/protocol";
import { expectSteps, runUntilSettled } from "./assertions";
import { T0, api, instance, json, lifecycle, nextRunAt, run, runAt, sendEvent, start, uniqueId } from "./helpers";
import { TRANSITIONS } from "./transitions";
import { count, holdStep, hooks } from "./workflows";

describe("POST /api/instances", () => {
  it("creates a queued instance with the given id", async () => {
    const id = uniqueId();
    const response = await api("/api/instances", json("POST", { workflow: "test-three-steps", id, params: { n: 1 } }));
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ id, status: "queued" });
    const view = await instance(id);
    expect(view).toMatchObject({ id, workflow: "test-three-steps", status: "queued", params: { n: 1 }, steps: [] });
  });

  it("generates an id when none is given", async () => {
    const response = await api("/api/instances", json("POST", { workflow: "daily-report" }));
    expect(response.status).toBe(201);
    const { id, status } = (await response.json()) as { id: string; status: string };
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(status).toBe("queued");
    // The params schema filled in its default.
    expect((await instance(id)).params).toEqual({});
  });

  it("refuses a second instance with the same id with a 409 and keeps the first", async () => {
    const id = await start("test-three-steps", { n: 1 });
    const response = await api("/api/instances", json("POST", { workflow: "test-three-steps", id, params: { n: 9 } }));
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:instance-exists" });
    expect((await instance(id)).params).toEqual({ n: 1 });
  });
});

describe("GET /api/instances/:id", () => {
  it("answers 404 for an instance that was never created", async () => {
    const response = await api(`/api/instances/${uniqueId()}`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:no-such-instance" });
  });
});

/** Brings a fresh `test-three-steps` instance to `status`. */
async function instanceIn(status: InstanceStatus): Promise<string> {
  const id = await start("test-three-steps", { n: 1 });
  if (status === "queued") return id;
  if (status === "paused") {
    await lifecycle(id, "pause");
    return id;
  }
  if (status === "terminated") {
    await lifecycle(id, "terminate");
    return id;
  }
  if (status === "errored") {
    const failing = await start("test-flaky", { limit: 0, delay: 1_000, backoff: "constant" });
    hooks.set(failing, { nonRetryable: true });
    await run(failing);
    return failing;
  }
  if (status === "running") {
    // A run in progress: the gated workflow holds its step open.
    return runningInstance();
  }
  await run(id); // waiting in "nap"
  if (status === "waiting") return id;
  if (status === "complete") {
    await runAt(id, T0 + 60_000);
    return id;
  }
  throw new Error(`no recipe for ${status}`);
}

/** A gated instance whose "inside" step is in progress; open the gate with hooks. */
async function runningInstance(): Promise<string> {
  const id = await start("test-gated");
  const { entered, open } = holdStep(id);
  pendingRuns.set(id, { run: run(id), open });
  await entered;
  return id;
}
const pendingRuns = new Map<string, { run: Promise<boolean>; open: () => void }>();

/** Lets the step of a {@link runningInstance} finish and waits for its run to end. */
async function finishRun(id: string): Promise<void> {
  const { open, run: inFlight } = pendingRuns.get(id)!;
  open();
  await inFlight;
}

/** Every lifecycle action from every status: 200 and the README's next status where allowed, else 409. */
const transitions = Object.entries(TRANSITIONS).flatMap(([action, { from, to }]) =>
  INSTANCE_STATUSES.map((status): [action: string, from: InstanceStatus, expected: number, to?: InstanceStatus] =>
    from.includes(status) ? [action, status, 200, to] : [action, status, 409],
  ),
);

describe("lifecycle transitions", () => {
  it.each(transitions)("%s from %s answers %i", async (action, from, expected, to) => {
    const id = await instanceIn(from);
    const response = await lifecycle(id, action);
    expect(response.status).toBe(expected);
    if (expected === 200) {
      expect(await response.json()).toEqual({ id, status: to });
    } else {
      expect(await response.json()).toMatchObject({
        type: "urn:durable-patterns:problem:illegal-transition",
        instanceStatus: from,
        action,
      });
    }
    // An illegal transition changed nothing.
    if (expected === 409) expect((await instance(id)).status).toBe(from);
    if (pendingRuns.has(id)) await finishRun(id);
  });
});

describe("pause and resume", () => {
  it("lets the step in progress finish, starts nothing more, and goes on after resume", async () => {
    const id = await runningInstance();
    expect((await lifecycle(id, "pause")).status).toBe(200);
    await finishRun(id);
    let view = await instance(id);
    expect(view.status).toBe("paused");
    // "inside" kept its result; "after" never started.
    expectSteps(view, ["before: complete", "inside: complete"]);
    expect(await nextRunAt(id)).toBeNull();

    expect((await lifecycle(id, "resume")).status).toBe(200);
    view = await runUntilSettled(id);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual(["before", "inside 1", "after"]);
    expect([count(id, "before"), count(id, "inside"), count(id, "after")]).toEqual([1, 1, 1]);
  });

  it("completes an instance paused and resumed while a step is in flight", async () => {
    const id = await runningInstance();
    // Pause cancels the pending run task; resume schedules a new one, all while the old run's
    // handler still awaits the gated step. The new task must outlive the old handler's end: a
    // queue that gave it the cancelled task's id deleted it there, and the instance stayed
    // queued with nothing left to run it.
    expect((await lifecycle(id, "pause")).status).toBe(200);
    expect((await lifecycle(id, "resume")).status).toBe(200);
    expect(await nextRunAt(id)).not.toBeNull();
    await finishRun(id);

    // The old run stored "inside" (same generation) and started nothing more: it is not running.
    let view = await instance(id);
    expect(view.status).toBe("queued");
    expectSteps(view, ["before: complete", "inside: complete"]);
    // Resume came during the run, so its task is due 1 ms after the run's start (see restart below).
    expect(await nextRunAt(id)).toBe(T0 + 1);

    view = await runUntilSettled(id, T0 + 1);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual(["before", "inside 1", "after"]);
    // Every step ran once: the resumed run replayed "inside" instead of running it again.
    expect([count(id, "before"), count(id, "inside"), count(id, "after")]).toEqual([1, 1, 1]);
    expect(await nextRunAt(id)).toBeNull();
  });

  it("keeps events sent while paused for after resume", async () => {
    const id = await start("test-waiter");
    await run(id);
    await lifecycle(id, "pause");
    await sendEvent(id, "ping", "one");
    expect(await nextRunAt(id)).toBeNull(); // a paused instance is not woken by events
    await lifecycle(id, "resume");
    await run(id);
    expect((await instance(id)).steps[0]).toMatchObject({ status: "complete", output: { payload: "one" } });
  });

  it("resumes a paused sleep at its original time", async () => {
    const id = await instanceIn("waiting");
    await lifecycle(id, "pause");
    await lifecycle(id, "resume");
    await run(id); // replays, finds the sleep not over, and suspends again
    expect((await instance(id)).status).toBe("waiting");
    expect(await nextRunAt(id)).toBe(T0 + 60_000);
  });
});

describe("terminate", () => {
  it("stops a sleeping instance for good: nothing runs at its wake time", async () => {
    const id = await instanceIn("waiting");
    await lifecycle(id, "terminate");
    expect(await nextRunAt(id)).toBeNull();
    await runAt(id, T0 + 60_000);
    expect((await instance(id)).status).toBe("terminated");
    expect(count(id, "b")).toBe(0);
  });
});

describe("restart", () => {
  it("runs a complete instance again from the top", async () => {
    const id = await instanceIn("complete");
    expect((await lifecycle(id, "restart")).status).toBe(200);
    const view = await instance(id);
    expect(view).toMatchObject({ status: "queued", output: null, steps: [] });
    await run(id);
    await runAt(id, T0 + 120_000);
    expect((await instance(id)).output).toEqual({ total: 21 });
    expect(count(id, "a")).toBe(2);
  });

  it("restarts from a named step and keeps the results before it", async () => {
    const id = await instanceIn("complete");
    expect((await lifecycle(id, "restart", { from: "b" })).status).toBe(200);
    expect((await instance(id)).steps.map((s) => s.key)).toEqual(["a#1", "nap#1"]);
    const view = await runUntilSettled(id);
    expect(view.status).toBe("complete");
    expect([count(id, "a"), count(id, "b"), count(id, "c")]).toEqual([1, 2, 2]);
  });

  it("makes the events consumed by the steps it forgets pending again, so their waits receive them again", async () => {
    const id = await start("test-waiter");
    for (const payload of ["one", "two"]) expect((await sendEvent(id, "ping", payload)).status).toBe(202);
    expect((await sendEvent(id, "pong", "three")).status).toBe(202);
    expect((await runUntilSettled(id)).output).toEqual({ first: "one", second: "two", pong: "three" });
    const pendingIds = async () =>
      ((await (await api(`/api/instances/${id}/events`)).json()) as { events: { id: number }[] }).events.map(
        (e) => e.id,
      );
    expect(await pendingIds()).toEqual([]);
    // From "second ping": the first wait keeps its event; the second ping and the pong are pending again.
    expect((await lifecycle(id, "restart", { from: "second ping" })).status).toBe(200);
    expect(await pendingIds()).toEqual([2, 3]);
    expect((await runUntilSettled(id)).output).toEqual({ first: "one", second: "two", pong: "three" });
    expect(await pendingIds()).toEqual([]);
  });

  it("answers 422 for a step the instance does not have", async () => {
    const id = await instanceIn("complete");
    const response = await lifecycle(id, "restart", { from: "no such step" });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:no-such-step" });
    expect((await instance(id)).status).toBe("complete");
  });

  it("restarts from the second call of a step name and keeps its first call's result", async () => {
    const id = await start("test-repeated");
    await run(id);
    expect((await instance(id)).output).toEqual([11, 12, 13]);
    const response = await lifecycle(id, "restart", { from: { name: "fetch", count: 2 } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id, status: "queued" });
    expect((await instance(id)).steps.map((s) => s.key)).toEqual(["fetch#1"]);
    const view = await runUntilSettled(id);
    // fetch#1 replayed (its effect ran once); fetch#2, fetch#3 and sum ran again.
    expect([view.status, view.output]).toEqual(["complete", [11, 22, 23]]);
    expect([count(id, "fetch 1"), count(id, "fetch 2"), count(id, "fetch 3"), count(id, "sum")]).toEqual([1, 2, 2, 2]);
  });

  it("answers 422 for a call count the step name does not have, naming the calls it has", async () => {
    const id = await start("test-repeated");
    await run(id);
    for (const from of [
      { name: "fetch", count: 4 },
      { name: "nope", count: 1 },
    ]) {
      const response = await lifecycle(id, "restart", { from });
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({
        type: "urn:durable-patterns:problem:no-such-step",
        step: from.name,
        count: from.count,
        calls: from.name === "fetch" ? 3 : 0,
      });
    }
    // Nothing was restarted.
    expect((await instance(id)).status).toBe("complete");
  });

  it("refuses a malformed from with a 422", async () => {
    const id = await start("test-repeated");
    for (const from of [
      { name: "fetch" },
      { name: "fetch", count: 0 },
      { name: "fetch", count: 1.5 },
      { name: "", count: 1 },
      { name: "fetch", count: 1, extra: 1 },
      7,
    ]) {
      const response = await lifecycle(id, "restart", { from });
      expect([JSON.stringify(from), response.status]).toEqual([JSON.stringify(from), 422]);
      expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:invalid-body" });
    }
    expect((await instance(id)).status).toBe("queued");
  });

  it("voids the result of a step still running when the restart came", async () => {
    const id = await runningInstance();
    expect((await lifecycle(id, "restart")).status).toBe(200);
    hooks.delete(id);
    await finishRun(id);
    // The old run's "inside" (its first execution) was never stored: the restarted run, queued
    // due now, runs in the next alarm (the queue moves work scheduled during a run 1 ms past it)
    // and stores its own.
    expect(await nextRunAt(id)).toBe(T0 + 1);
    const view = await runUntilSettled(id, T0 + 1);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual(["before", "inside 2", "after"]);
    expect([count(id, "before"), count(id, "inside"), count(id, "after")]).toEqual([2, 2, 1]);
  });
});
