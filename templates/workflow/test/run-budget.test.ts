/**
 * One run does a bounded amount of work: after its budget of step attempts (1,000) or of time
 * (60 s) it yields, the instance stays `running` with its run task due at once, and the next
 * alarm invocation continues from the stored steps. So no invocation nears the platform's limits
 * (15 minutes of wall time, 30 s of CPU), however long the workflow.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WorkflowRunner } from "../src/workflow-runner-object";
import { T0, instance, nextRunAt, run, runAt, start, stub } from "./helpers";
import { count, longClocks } from "./workflows";

async function setBudget(id: string, budget: { attempts: number; ms: number }): Promise<void> {
  await runInDurableObject(stub(id), (runner: WorkflowRunner) => {
    runner.runBudget = budget;
  });
}

async function completedSteps(id: string): Promise<number> {
  return (await instance(id)).steps.filter((step) => step.status === "complete").length;
}

describe("a run's budget", () => {
  it("yields after its budget of step attempts, stays running, and the next alarms finish the workflow with each step run once", async () => {
    const id = await start("test-long", { n: 7 });
    await setBudget(id, { attempts: 3, ms: 60_000 });
    const progress: [string, number, number | null][] = [];
    // The queue's clock moves a millisecond per alarm, as time does between two invocations: a run
    // never picks up work scheduled for "now" while it runs, so what a yield leaves is due next.
    for (let at = T0 + 1; at < T0 + 10 && (await nextRunAt(id)) !== null; at++) {
      await runAt(id, at);
      progress.push([(await instance(id)).status, await completedSteps(id), await nextRunAt(id)]);
    }
    expect(progress).toEqual([
      ["running", 3, T0 + 2],
      ["running", 6, T0 + 3],
      ["complete", 7, null],
    ]);
    const view = await instance(id);
    expect(view.output).toBe(7); // each step's effect ran once: seven 1s
    for (let i = 0; i < 7; i++) expect(count(id, `s0.${i}`)).toBe(1);
  });

  it("yields once 60 s of a run have passed, whatever the number of steps", async () => {
    const id = await start("test-long", { n: 6, stepMs: 25_000 });
    const clock = { now: T0 };
    longClocks.set(id, clock);
    await runInDurableObject(stub(id), (runner: WorkflowRunner) => {
      runner.clock = () => clock.now;
    });
    await run(id);
    // Steps start at 0 s, 25 s and 50 s; at 75 s the budget is spent and the run yields.
    expect(await completedSteps(id)).toBe(3);
    expect((await instance(id)).status).toBe("running");
    expect(await nextRunAt(id)).toBe(T0 + 75_000);
    await run(id);
    expect(await completedSteps(id)).toBe(6);
    await run(id);
    expect((await instance(id)).status).toBe("complete");
  });

  it("with the default budget, a 1,500-step workflow completes in two alarm invocations", async () => {
    const id = await start("test-long", { n: 1_500 });
    expect(await run(id)).toBe(true);
    expect(await completedSteps(id)).toBe(1_000);
    expect((await instance(id)).status).toBe("running");
    expect(await runAt(id, T0 + 1)).toBe(true);
    const view = await instance(id);
    expect(view.status).toBe("complete");
    expect(view.output).toBe(1_500);
    expect(await nextRunAt(id)).toBeNull();
  });

  it("lets the steps of parallel branches already started finish when it yields, and never starts one twice", async () => {
    const id = await start("test-long", { n: 3, branches: 4 });
    await setBudget(id, { attempts: 5, ms: 60_000 });
    let runs = 0;
    while (runs < 10 && (await nextRunAt(id)) !== null) await runAt(id, T0 + runs++);
    const view = await instance(id);
    expect(view.status).toBe("complete");
    expect(view.output).toBe(12);
    expect(runs).toBe(3); // 12 attempts at 5 per run
    for (let b = 0; b < 4; b++) for (let i = 0; i < 3; i++) expect(count(id, `s${b}.${i}`)).toBe(1);
  });
});
