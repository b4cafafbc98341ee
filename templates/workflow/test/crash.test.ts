/**
 * Crash safety: the object is evicted or killed between steps and inside a step. Every run is an
 * alarm-queue task, so the platform's alarm retry delivers it again; the replay skips completed
 * steps (their side effects are counted in the test isolate, which survives the object) and the
 * instance finishes with the right output.
 */
import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { T0, instance, nextRunAt, retryAlarm, run, runAt, setClock, start, stub } from "./helpers";
import { count, hooks } from "./workflows";

/** Makes the next attempt of the gated "inside" step kill its object with `ctx.abort()`. */
async function crashInsideNextAttempt(id: string): Promise<void> {
  await runInDurableObject(stub(id), (_runner, state) => {
    hooks.set(id, { crash: () => state.abort("simulated crash") });
  });
}

/** Runs the alarm (the first time, or the platform's `retryCount`-th retry) and expects the object to die in it. */
async function runAndCrash(id: string, retryCount: number): Promise<void> {
  const error = await (retryCount === 0 ? run(id) : retryAlarm(id, retryCount)).then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(String(error)).toContain("simulated crash");
}

describe("crash between steps", () => {
  it("finishes a sleeping instance after its object is evicted, running no step twice", async () => {
    const id = await start("test-three-steps", { n: 3 });
    await run(id);
    await evictDurableObject(stub(id));
    await runAt(id, T0 + 60_000);
    expect((await instance(id)).output).toEqual({ total: 41 });
    expect([count(id, "a"), count(id, "b"), count(id, "c")]).toEqual([1, 1, 1]);
  });

  it("finishes a sleeping instance after every object is aborted", async () => {
    const id = await start("test-three-steps", { n: 3 });
    await run(id);
    await abortAllDurableObjects();
    await runAt(id, T0 + 60_000);
    expect((await instance(id)).output).toEqual({ total: 41 });
    expect([count(id, "a"), count(id, "b"), count(id, "c")]).toEqual([1, 1, 1]);
  });
});

describe("crash outside any step", () => {
  it("errors an instance whose run crashes the object on every attempt, with the reason, instead of leaving it running", async () => {
    const id = await start("test-gated");
    // The workflow's own code kills the object before its first step, on every replay: no step
    // counts these attempts, so the alarm queue's count of the platform's retries decides.
    const outcomes: string[] = [];
    for (let retryCount = 0; retryCount < 12; retryCount++) {
      // Each object instance gets its own hook: an aborted instance's state cannot abort again.
      await runInDurableObject(stub(id), (_runner, state) => {
        hooks.set(id, { atStart: () => state.abort("simulated crash") });
      });
      await setClock(id, T0);
      const error = await (retryCount === 0 ? run(id) : retryAlarm(id, retryCount)).then(
        () => null,
        (thrown: unknown) => thrown,
      );
      outcomes.push(error ? "crashed" : "finished");
      if (!error) break;
    }
    hooks.delete(id);
    // The first invocation is not counted (a crash rolls its writes back); ten retries use up the
    // run task's 10 attempts, and the eleventh moves it to the dead letters.
    expect(outcomes).toEqual([...Array<string>(11).fill("crashed"), "finished"]);
    const view = await instance(id);
    expect(view.status).toBe("errored");
    expect(view.error).toEqual({
      name: "RunAbandonedError",
      message:
        "The run did not finish in 10 attempts; the last: Attempt 10 never finished: the object crashed or was reset while the task ran.",
    });
    expect(count(id, "before")).toBe(0);
    expect(await nextRunAt(id)).toBeNull();
  });
});

describe("crash inside a step", () => {
  it("reruns only the interrupted step after ctx.abort() kills the object mid-step", async () => {
    const id = await start("test-gated");
    await crashInsideNextAttempt(id);
    await runAndCrash(id, 0);

    // The attempt was recorded before the step ran; the step before it is complete.
    hooks.delete(id);
    await setClock(id, T0);
    let view = await instance(id);
    expect(view.status).toBe("running");
    expect(view.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
      ["before", "complete", 1],
      ["inside", "running", 1],
    ]);

    // The platform retries the failed alarm: the run task is still in the queue.
    await retryAlarm(id);
    view = await instance(id);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual(["before", "inside 2", "after"]);
    expect(view.steps[1]!.attempts).toBe(2);
    expect([count(id, "before"), count(id, "inside"), count(id, "after")]).toEqual([1, 2, 1]);
  });

  it("gives up on a step that kills its object on every attempt, after its retry limit", async () => {
    const id = await start("test-gated");
    // Default retries: 5 after the first attempt, so 6 attempts are recorded, then the step fails.
    for (let attempt = 1; attempt <= 6; attempt++) {
      await crashInsideNextAttempt(id);
      await setClock(id, T0);
      await runAndCrash(id, attempt - 1);
    }
    hooks.delete(id);
    await setClock(id, T0);
    await retryAlarm(id, 6);
    const view = await instance(id);
    expect(view.status).toBe("errored");
    expect(view.steps[1]).toMatchObject({
      name: "inside",
      status: "errored",
      attempts: 6,
      error: { name: "CrashError", message: "The object was restarted or crashed during the last attempt." },
    });
    expect(count(id, "inside")).toBe(6);
    expect(count(id, "after")).toBe(0);
  });
});

describe("crash right after a step returned", () => {
  it("never runs a step again once it returned, even if the object dies before the next step", async () => {
    const id = await start("test-crash-between");
    await runInDurableObject(stub(id), (_runner, state) => {
      hooks.set(id, { atStart: () => state.abort("simulated crash") });
    });
    await runAndCrash(id, 0);
    hooks.delete(id);
    await setClock(id, T0);
    expect((await instance(id)).steps.map((s) => [s.name, s.status])).toEqual([["a", "complete"]]);
    await retryAlarm(id);
    const view = await instance(id);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual([1, 1]);
    expect([count(id, "a"), count(id, "b")]).toEqual([1, 1]);
  });
});
