/**
 * `step.waitForEvent`: events sent before the wait are buffered in order and consumed by the first
 * matching wait; an event during the wait wakes the instance at once; a wait without an event
 * times out; events to a finished instance are refused.
 */
import { describe, expect, it } from "vitest";
import { T0, instance, nextRunAt, run, runAt, sendEvent, start } from "./helpers";
import { hooks } from "./workflows";

describe("POST /api/instances/:id/events/:type", () => {
  it("wakes a waiting instance at once and hands it the payload", async () => {
    const id = await start("test-waiter");
    await run(id);
    let view = await instance(id);
    expect(view.status).toBe("waiting");
    expect(view.steps[0]).toMatchObject({
      kind: "wait",
      status: "waiting",
      wakeAt: new Date(T0 + 3_600_000).toISOString(),
    });
    expect(await nextRunAt(id)).toBe(T0 + 3_600_000);

    const response = await sendEvent(id, "ping", "one");
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ id, status: "waiting" });
    // The event moved the run task to now.
    expect(await nextRunAt(id)).toBe(T0);
    await run(id);
    view = await instance(id);
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
    await run(id);
    const view = await instance(id);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual({ first: "one", second: "two", pong: "three" });
  });

  it("hands an event sent while a run is in progress to the wait that run reaches", async () => {
    const id = await start("test-gate-then-wait");
    let open!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    hooks.set(id, { gate: new Promise<void>((resolve) => (open = resolve)), entered });
    const running = run(id);
    await inside;
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
    let open!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    hooks.set(id, { gate: new Promise<void>((resolve) => (open = resolve)), entered });
    const running = run(id);
    await inside; // the wait found nothing and suspends; the run waits for "slow" to finish
    await sendEvent(id, "go", "meanwhile");
    open();
    await running;
    // The suspending run scheduled its next run for now, not for the wait's deadline an hour
    // later. The queue runs work scheduled during a run in the next run, 1 ms on.
    expect(await nextRunAt(id)).toBe(T0 + 1);
    await runAt(id, T0 + 1);
    const view = await instance(id);
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
    await run(id);
    let view = await instance(id);
    expect(view.steps[2]).toMatchObject({ key: "pong#1", status: "waiting" });
    await runAt(id, T0 + 5 * 60_000);
    view = await instance(id);
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
    await runAt(id, T0 + 86_400_000);
    const view = await instance(id);
    expect(view.status).toBe("errored");
    expect(view.error!.name).toBe("WaitTimeoutError");
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
