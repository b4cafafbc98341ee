/**
 * Property: generated workflow shapes (sequences and Promise.all of branches of sequences, to
 * depth 3, with sleeps, waits for events, failing steps and undos) driven to the end with
 * evictions, aborts, crashes (`ctx.abort()` as a step starts, or right after a step returned),
 * events sent at random points, and a run budget of 1 to 4 step attempts (so runs yield midway).
 * Whatever the faults: a shape without failures completes with the output a straight run gives;
 * no step that completed runs again; when a step fails, every completed step with an undo is
 * undone exactly once and nothing else is; every event sent is received by exactly one wait, in
 * the order sent, or is still pending: none is lost.
 *
 * Runs `FC_RUNS` cases (200 in `pnpm test`, 10,000 in `pnpm test:soak`), seed `FC_SEED`:
 * `FC_SEED=<seed> FC_RUNS=<runs> pnpm --filter workflow test test/shapes.test.ts`.
 */
import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import * as hostile from "../src/shared/hostile-input";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EventPage } from "../src/protocol";
import type { WorkflowRunner } from "../src/workflow-runner-object";
import { T0, api, instance, nextRunAt, retryAlarm, run, sendEvent, start, stub } from "./helpers";
import { count, evaluateShape, shapeCrashes, type Shape } from "./workflows";

const { runs, seed, figures } = hostile.propertyRuns("shapes", {
  cases: 0,
  failing: 0,
  steps: 0,
  waits: 0,
  runs: 0,
  yields: 0,
  crashes: 0,
  evictions: 0,
  aborts: 0,
  events: 0,
});

/** Shapes with placeholder names; {@link named} gives every step and sleep its own. */
const { shape: anyShape } = fc.letrec<{ shape: Shape }>((tie) => ({
  shape: fc.oneof(
    { maxDepth: 3, depthSize: "medium", withCrossShrink: true },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant("step" as const),
        name: fc.constant(""),
        delay: fc.integer({ min: 0, max: 4 }),
        fail: fc.integer({ min: 0, max: 11 }).map((n) => n === 0), // one step in twelve fails
        undo: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant("sleep" as const),
        name: fc.constant(""),
        ms: fc.integer({ min: 1, max: 120_000 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant("wait" as const),
        name: fc.constant(""),
        type: fc.constantFrom("a" as const, "b" as const),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant("seq" as const),
        items: fc.array(tie("shape"), { minLength: 1, maxLength: 3 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant("all" as const),
        items: fc.array(tie("shape"), { minLength: 1, maxLength: 3 }),
      }),
    },
  ),
}));

/** Gives every step and sleep its own name. */
function named(shape: Shape, names = { n: 0 }): Shape {
  if (shape.t === "step") {
    const name = `s${names.n++}`;
    return { ...shape, name };
  }
  if (shape.t === "sleep") return { ...shape, name: `z${names.n++}` };
  if (shape.t === "wait") return { ...shape, name: `w${names.n++}` };
  return { ...shape, items: shape.items.map((item) => named(item, names)) };
}

function stepsOf(shape: Shape): Extract<Shape, { t: "step" }>[] {
  if (shape.t === "step") return [shape];
  if (shape.t === "sleep" || shape.t === "wait") return [];
  return shape.items.flatMap(stepsOf);
}

function waitsOf(shape: Shape): Extract<Shape, { t: "wait" }>[] {
  if (shape.t === "wait") return [shape];
  if (shape.t === "sleep" || shape.t === "step") return [];
  return shape.items.flatMap(waitsOf);
}

/**
 * Sets the instance's clock and run budget (fields of the object, so set again before every run:
 * an eviction resets them), without jitter.
 */
async function prepare(id: string, at: number, budget: number | undefined): Promise<void> {
  await runInDurableObject(stub(id), (runner: WorkflowRunner) => {
    runner.clock = () => at;
    runner.random = () => 0;
    if (budget !== undefined) runner.runBudget = { attempts: budget, ms: 60_000 };
  });
}

/**
 * Waits until the instance's storage takes a write again after a crash. Measured locally: right
 * after `ctx.abort()` inside a run, the aborted instance may still hold its SQLite connection for a
 * few milliseconds (its work in flight winding down), and the next instance's first write fails
 * with SQLITE_BUSY. A test artifact of one process running both: a platform retry starts later.
 */
async function afterCrash(id: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await runInDurableObject(stub(id), (runner: WorkflowRunner) => {
        runner.sql.run("UPDATE instance SET id = id WHERE id = 1");
      });
      return;
    } catch (error) {
      if (!String(error).includes("SQLITE_BUSY") || attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** The payloads of the instance's pending events, of every type. */
async function pendingPayloads(id: string): Promise<string[]> {
  const response = await api(`/api/instances/${id}/events?limit=100`);
  const page = (await response.json()) as EventPage;
  expect(page.next).toBeNull();
  return page.events.map((event) => event.payload as string);
}

/** A whole workflow: a sequence or a Promise.all at the top, of 2 to 4 shapes. */
const workflowShape: fc.Arbitrary<Shape> = fc
  .record({
    t: fc.constantFrom("seq" as const, "all" as const),
    items: fc.array(anyShape, { minLength: 2, maxLength: 4 }),
  })
  .map((shape) => named(shape));

type Fault = "none" | "evict" | "abort" | { crash: "before" | "after"; at: number } | { event: "a" | "b" };
const fault: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 3, arbitrary: fc.constant("none" as const) },
  { weight: 1, arbitrary: fc.record({ event: fc.constantFrom("a" as const, "b" as const) }) },
  { weight: 1, arbitrary: fc.constantFrom("evict" as const, "abort" as const) },
  {
    weight: 2,
    arbitrary: fc.record({
      crash: fc.constantFrom("before" as const, "after" as const),
      at: fc.integer({ min: 1, max: 4 }),
    }),
  },
);

describe("generated workflow shapes under faults", () => {
  it("complete with a straight run's output, never rerun a completed step, undo every completed step on failure, and lose no event", async () => {
    const budgets = fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined, freq: 2 });
    await fc.assert(
      fc.asyncProperty(workflowShape, fc.array(fault, { maxLength: 8 }), budgets, async (shape, faults, budget) => {
        figures.cases++;
        const steps = stepsOf(shape);
        const waits = waitsOf(shape);
        figures.steps += steps.length;
        figures.waits += waits.length;
        const failing = steps.some((s) => s.fail);
        if (failing) figures.failing++;
        const id = await start("test-shape", { shape });
        const sent: string[] = [];
        let now = T0; // the instance's clock: set again before anything reads it (an eviction resets it)
        const send = async (type: "a" | "b") => {
          await prepare(id, now, budget);
          const payload = `${type}${sent.length}`;
          expect((await sendEvent(id, type, payload)).status).toBe(202);
          sent.push(payload);
          figures.events++;
        };
        let crashes = 0; // in a row: the platform's retry count for the next alarm
        let crashBudget = 2; // at most 2 crashes per case, under each step's 3 retries
        let ranClean = false; // the last run did not crash: if the instance is still running, it yielded
        for (let i = 0; i < 200; i++) {
          const view = await instance(id);
          if (view.status === "complete" || view.status === "errored") break;
          if (ranClean && view.status === "running") figures.yields++;
          const next = faults[i] ?? "none";
          if (typeof next === "object" && "event" in next) {
            await send(next.event);
          } else if (next === "evict") {
            figures.evictions++;
            await evictDurableObject(stub(id));
          } else if (next === "abort") {
            figures.aborts++;
            await abortAllDurableObjects();
          } else if (typeof next === "object" && "crash" in next && crashBudget > 0) {
            crashBudget--;
            await runInDurableObject(stub(id), (_runner, state) => {
              shapeCrashes.set(id, {
                countdown: next.at,
                where: next.crash,
                abort: () => state.abort("simulated crash"),
              });
            });
          }
          // Wake at the next due time (a sleep's end, a retry), as the platform would. When that is
          // a wait's deadline, its event is sent first: a shape's waits do not time out.
          const due = await nextRunAt(id);
          const waiting = view.steps.find(
            (s) =>
              s.kind === "wait" &&
              s.status === "waiting" &&
              due !== null &&
              s.wakeAt !== null &&
              Date.parse(s.wakeAt) <= due,
          );
          if (waiting) await send(waits.find((w) => w.name === waiting.name)!.type);
          now = Math.max(now, (await nextRunAt(id)) ?? now);
          await prepare(id, now, budget);
          figures.runs++;
          const crashed = await (crashes === 0 ? run(id) : retryAlarm(id, crashes)).then(
            () => false,
            (error: unknown) => String(error).includes("simulated crash") || Promise.reject(error),
          );
          shapeCrashes.delete(id);
          if (crashed) {
            figures.crashes++;
            await afterCrash(id);
          }
          ranClean = !crashed;
          crashes = crashed ? crashes + 1 : 0;
          for (const s of steps) expect(count(id, s.name), `step ${s.name} ran twice`).toBeLessThanOrEqual(1);
        }

        const view = await instance(id);
        // No event lost: each type's events were received by its waits in the order sent (the oldest
        // first, whichever wait ran first), and the rest are pending.
        const received = new Map(
          view.steps
            .filter((s) => s.kind === "wait" && s.status === "complete")
            .map((s) => [s.name, (s.output as { payload: string }).payload]),
        );
        const pending = await pendingPayloads(id);
        for (const type of ["a", "b"]) {
          const ofType = sent.filter((p) => p.startsWith(type));
          const got = [...received.values()].filter((p) => p.startsWith(type));
          expect(new Set(got), `events of type ${type} received`).toEqual(new Set(ofType.slice(0, got.length)));
          expect(pending.filter((p) => p.startsWith(type))).toEqual(ofType.slice(got.length));
        }
        if (!failing) {
          expect(view.status).toBe("complete");
          expect(received.size).toBe(waits.length);
          expect(view.output).toEqual(evaluateShape(shape, (wait) => received.get(wait)));
          for (const s of steps) expect(count(id, s.name)).toBe(1);
          for (const s of steps) expect(count(id, `undo ${s.name}`)).toBe(0);
          return;
        }
        expect(view.status).toBe("errored");
        for (const s of steps) {
          const completed = count(id, s.name);
          expect(completed).toBeLessThanOrEqual(1);
          if (s.fail) expect(completed).toBe(0);
          // Every completed step with an undo is undone once; nothing else is.
          expect(count(id, `undo ${s.name}`), `undo of ${s.name}`).toBe(s.undo ? completed : 0);
        }
      }),
      { numRuns: runs, seed },
    );
  });
});
