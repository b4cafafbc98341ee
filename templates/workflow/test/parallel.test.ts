/**
 * Steps started together (`Promise.all`, branches of sequences, branches inside branches) are
 * matched on replay by name and call count, not by position, so the order in which branches
 * finish does not matter. Patterns that cannot be replayed (a step inside a step, `Promise.race`
 * over a suspension) are refused at once with an error that says what to write instead.
 */
import { abortAllDurableObjects, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectErrored, expectSteps, runUntilSettled } from "./assertions";
import { T0, instance, nextRunAt, run, runAt, sendEvent, start, stub } from "./helpers";
import { count } from "./workflows";

describe("parallel steps", () => {
  it("runs steps started with Promise.all once each and replays both", async () => {
    const id = await start("test-parallel");
    await run(id);
    expect((await instance(id)).steps.map((s) => [s.position, s.key, s.status])).toEqual([
      [0, "left#1", "complete"],
      [1, "right#1", "complete"],
      [2, "nap#1", "sleeping"],
    ]);
    await runAt(id, T0 + 1_000);
    expect((await instance(id)).output).toBe("LR");
    expect([count(id, "left"), count(id, "right")]).toEqual([1, 1]);
  });
});

/** What test-fanout returns for items 0, 1, 2: branch i gives (10i + 1)·5. */
const FANOUT = { results: [5, 55, 105], total: 165 };
const BRANCH_STEPS = ["a", "b", "c", "d"].flatMap((s) => [0, 1, 2].map((i) => `${s}${i}`));

function fanoutCounts(id: string): Record<string, number> {
  return Object.fromEntries([...BRANCH_STEPS, "total"].map((s) => [s, count(id, s)]));
}
const ONCE = Object.fromEntries([...BRANCH_STEPS, "total"].map((s) => [s, 1]));

describe("parallel branches of sequential steps", () => {
  it("replays branches that finished in another order than they started, after a sleep", async () => {
    const id = await start("test-fanout", { items: [0, 1, 2], then: "sleep" });
    let view = await runUntilSettled(id);
    expect(view.status).toBe("waiting");
    expect(view.steps).toHaveLength(13);
    view = await runUntilSettled(id, T0 + 60_000);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual(FANOUT);
    expect(fanoutCounts(id)).toEqual(ONCE);
  });

  it("replays branches after a wait for an event", async () => {
    const id = await start("test-fanout", { items: [0, 1, 2], then: "wait" });
    await run(id);
    expect((await instance(id)).status).toBe("waiting");
    await sendEvent(id, "go", "now");
    const view = await runUntilSettled(id);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual(FANOUT);
    expect(fanoutCounts(id)).toEqual(ONCE);
  });

  it("replays branches after a retry delay inside one branch", async () => {
    const id = await start("test-fanout", { items: [0, 1, 2], flaky: 1 });
    let view = await runUntilSettled(id);
    expect(view.status).toBe("waiting");
    expect(view.steps.find((s) => s.name === "b1")).toMatchObject({ status: "retrying", attempts: 1 });
    view = await runUntilSettled(id, T0 + 60_000);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual(FANOUT);
    expect(fanoutCounts(id)).toEqual({ ...ONCE, b1: 2 });
  });

  it("replays branches after the object is evicted and after every object is aborted", async () => {
    const id = await start("test-fanout", { items: [0, 1, 2], then: "sleep" });
    await run(id);
    await evictDurableObject(stub(id));
    await abortAllDurableObjects();
    const view = await runUntilSettled(id, T0 + 60_000);
    expect(view.output).toEqual(FANOUT);
    expect(fanoutCounts(id)).toEqual(ONCE);
  });

  it("stores each branch step under its name and call count", async () => {
    const id = await start("test-fanout", { items: [0, 1, 2], then: "sleep" });
    await run(id);
    const keys = (await instance(id)).steps.map((s) => s.key).sort();
    expect(keys).toEqual([...BRANCH_STEPS.map((s) => `${s}#1`), "nap#1"].sort());
  });
});

describe("a step called inside another step's function", () => {
  for (const afterAwait of [false, true]) {
    it(`fails the outer step at once, not retried, with an error naming both steps${afterAwait ? " (called after an await)" : ""}`, async () => {
      const id = await start("test-nested", { afterAwait });
      const view = await runUntilSettled(id);
      expect(view.status).toBe("errored");
      expect(view.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([["outer", "errored", 1]]);
      expect(view.steps[0]!.error).toEqual({
        name: "NestedStepError",
        message: expect.stringContaining('step.do "inner" was called inside the function of step.do "outer"'),
      });
      expect(count(id, "inner")).toBe(0);
    });
  }
});

describe("Promise.race over a suspension", () => {
  it("refuses a race of a step against a sleep at once, pointing to waitForEvent's timeout", async () => {
    const id = await start("test-race", { against: "step" });
    const view = await runUntilSettled(id);
    expectErrored(view, {
      name: "UnsupportedPatternError",
      message: expect.stringContaining("step.waitForEvent(name, { type, timeout })"),
    });
    expect(view.error!.message).toContain('step.sleep "deadline"');
  });

  it("never consumes an event for a wait in a refused race", async () => {
    const id = await start("test-race", { against: "event" });
    await sendEvent(id, "approval", "yes");
    const view = await runUntilSettled(id);
    expectErrored(view, "UnsupportedPatternError");
    // No step consumed the approval: no wait row holds it.
    expect(view.steps.filter((s) => s.kind === "wait")).toEqual([]);
  });
});

describe("sagas with Promise.all", () => {
  it("starts no new step once the function failed, lets steps in flight finish and undoes every completed step", async () => {
    const id = await start("test-saga-all");
    const view = await runUntilSettled(id);
    expect(view.status).toBe("errored");
    expect(view.error!.message).toContain('Step "fails" failed after 1 attempt');
    expect([count(id, "fails"), count(id, "slow"), count(id, "after slow")]).toEqual([1, 1, 0]);
    expect([count(id, "undo slow"), count(id, "undo first"), count(id, "undo after slow")]).toEqual([1, 1, 0]);
    // Undos newest first: "slow" completed after "first".
    expect(view.steps.filter((s) => s.kind === "undo").map((s) => s.name)).toEqual(["undo slow", "undo first"]);
    expect(await nextRunAt(id)).toBeNull(); // no run left to wake for
  });
});

/**
 * A sleep, a wait or a retry delay holds only its own branch: the others go on within the same
 * run, as they would live, and the run suspends once every branch is parked or done.
 */
describe("a branch that sleeps or waits holds only itself", () => {
  const step = (name: string, fail = false) => ({ t: "step", name, delay: 0, fail, undo: !fail });

  it("runs a sibling branch's next steps in the same run, not after the sleep", async () => {
    const shape = {
      t: "all",
      items: [
        { t: "sleep", name: "z0", ms: 3_600_000 },
        { t: "seq", items: [step("s1"), step("s2")] },
      ],
    };
    const id = await start("test-shape", { shape });
    const view = await runUntilSettled(id);
    expect(view.status).toBe("waiting");
    expectSteps(view, ["z0: sleeping", "s1: complete", "s2: complete"]);
  });

  it("gives an event to the wait it is for at once, while a parallel wait for another type still waits", async () => {
    // Found by the shapes property: the wait of type "a" suspended the run before the wait of
    // type "b" looked for its event, so every "b" sent was left unread until a's deadline.
    const shape = {
      t: "all",
      items: [
        { t: "seq", items: [{ t: "all", items: [step("s0")] }, { t: "wait", name: "w1", type: "b" }, step("s5")] },
        { t: "seq", items: [step("s2"), { t: "wait", name: "w3", type: "a" }] },
      ],
    };
    const id = await start("test-shape", { shape });
    await run(id);
    expect((await sendEvent(id, "b", "b0")).status).toBe(202);
    const view = await runUntilSettled(id);
    expectSteps(view, ["s0: complete", "s2: complete", "w1: complete", "w3: waiting", "s5: complete"]);
    expect(view.steps.find((s) => s.name === "w1")?.output).toMatchObject({ payload: "b0" });
  });

  it("fails the instance and runs the undos at once when a step fails beside a sleeping sibling", async () => {
    const shape = { t: "all", items: [{ t: "sleep", name: "z0", ms: 3_600_000 }, step("s1"), step("s2", true)] };
    const id = await start("test-shape", { shape });
    const view = await runUntilSettled(id);
    expect(view.status).toBe("errored");
    expect(view.error).toMatchObject({ name: "StepFailedError" });
    expect(count(id, "undo s1")).toBe(1);
    expect(await nextRunAt(id)).toBeNull(); // nothing left to wake for: the sleep was abandoned with the run
  });
});
