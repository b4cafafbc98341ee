/**
 * Retries: delays follow the configured backoff (the tests read the scheduled times), jitter only
 * shortens a delay and by at most its fraction, a NonRetryableError stops at once, and the limit
 * is honoured before the instance errors with the cause.
 */
import { describe, expect, it } from "vitest";
import { T0, instance, nextRunAt, run, runAt, setClock, start } from "./helpers";
import { count, hooks } from "./workflows";

/** Fails `failures` times, then succeeds; returns when each retry was due, in ms after T0. */
async function retryTimes(params: object, failures: number, random = 0) {
  const id = await start("test-flaky", params);
  hooks.set(id, { failures });
  await setClock(id, T0, random);
  await run(id);
  const due: number[] = [];
  for (let at = await nextRunAt(id); at !== null; at = await nextRunAt(id)) {
    due.push(at - T0);
    // Each retry runs exactly when due; the clock stays at the retry's time for the next delay.
    await setClock(id, at, random);
    await run(id);
    if ((await instance(id)).status !== "waiting") break;
  }
  return { id, due };
}

describe("step retries", () => {
  it("waits the same delay before every retry with constant backoff", async () => {
    const { id, due } = await retryTimes({ limit: 3, delay: 1_000, backoff: "constant" }, 3);
    // Each retry runs when due and fails at once: 1 s after each failure.
    expect(due).toEqual([1_000, 2_000, 3_000]);
    const view = await instance(id);
    expect(view.status).toBe("complete");
    expect(view.output).toBe("ok on attempt 4");
    expect(view.steps[0]).toMatchObject({ attempts: 4, status: "complete" });
  });

  it("grows delays by the retry number with linear backoff", async () => {
    const { due } = await retryTimes({ limit: 3, delay: 1_000, backoff: "linear" }, 3);
    // 1 s, then 2 s, then 3 s after each failure.
    expect(due).toEqual([1_000, 3_000, 6_000]);
  });

  it("doubles delays with exponential backoff", async () => {
    const { due } = await retryTimes({ limit: 4, delay: 1_000, backoff: "exponential" }, 4);
    // 1, 2, 4, 8 s after each failure.
    expect(due).toEqual([1_000, 3_000, 7_000, 15_000]);
  });

  it("takes at most the jitter fraction off a delay, never adds to it", async () => {
    // random = 0.999…: the most jitter can take. 25 % jitter of 1 s leaves just over 750 ms.
    const most = await retryTimes({ limit: 1, delay: 1_000, backoff: "constant", jitter: 0.25 }, 1, 0.9999);
    expect(most.due).toEqual([750]);
    const half = await retryTimes({ limit: 1, delay: 1_000, backoff: "constant", jitter: 0.25 }, 1, 0.5);
    expect(half.due).toEqual([875]);
    const none = await retryTimes({ limit: 1, delay: 1_000, backoff: "constant", jitter: 0.25 }, 1, 0);
    expect(none.due).toEqual([1_000]);
  });

  it("stops after the limit and errors the instance with the step's cause", async () => {
    const { id, due } = await retryTimes({ limit: 2, delay: 1_000, backoff: "constant" }, 10);
    expect(due).toEqual([1_000, 2_000]);
    expect(count(id, "call")).toBe(3);
    const view = await instance(id);
    expect(view.status).toBe("errored");
    expect(view.error).toEqual({
      name: "StepFailedError",
      message: 'Step "call" failed after 3 attempts: Error: failure 3',
    });
    expect(view.steps[0]).toMatchObject({
      status: "errored",
      attempts: 3,
      error: { name: "Error", message: "failure 3" },
    });
    expect(await nextRunAt(id)).toBeNull();
  });

  it("stops at once on a NonRetryableError", async () => {
    const id = await start("test-flaky", { limit: 5, delay: 1_000, backoff: "constant" });
    hooks.set(id, { nonRetryable: true });
    await run(id);
    expect(count(id, "call")).toBe(1);
    const view = await instance(id);
    expect(view.status).toBe("errored");
    expect(view.error!.message).toBe(
      'Step "call" failed after 1 attempt: NonRetryableError: bad request, do not retry',
    );
    expect(await nextRunAt(id)).toBeNull();
  });

  it("shows the instance waiting with the last error while a retry is due", async () => {
    const id = await start("test-flaky", { limit: 5, delay: 60_000, backoff: "constant" });
    hooks.set(id, { failures: 1 });
    await run(id);
    const view = await instance(id);
    expect(view.status).toBe("waiting");
    expect(view.steps[0]).toMatchObject({
      status: "retrying",
      attempts: 1,
      wakeAt: new Date(T0 + 60_000).toISOString(),
      error: { name: "Error", message: "failure 1" },
    });
    await runAt(id, T0 + 60_000);
    expect((await instance(id)).output).toBe("ok on attempt 2");
  });
});

describe("step timeouts", () => {
  it("cuts off an attempt at its timeout, retries it, then fails with a StepTimeoutError", async () => {
    const id = await start("test-hanging");
    await run(id);
    let view = await instance(id);
    expect(view.steps[0]).toMatchObject({
      status: "retrying",
      attempts: 1,
      error: { name: "StepTimeoutError", message: 'Step "hang" ran longer than its timeout of 20 ms.' },
    });
    await runAt(id, T0 + 1_000);
    view = await instance(id);
    expect(view.status).toBe("errored");
    expect(view.error!.message).toBe(
      'Step "hang" failed after 2 attempts: StepTimeoutError: Step "hang" ran longer than its timeout of 20 ms.',
    );
    expect(count(id, "hang")).toBe(2);
  });
});
