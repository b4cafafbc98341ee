/**
 * Property: generated workflow shapes (sequences and Promise.all of branches of sequences, to
 * depth 3, with sleeps, failing steps and undos) driven to the end with evictions, aborts and
 * crashes (`ctx.abort()` as a step starts, or right after a step returned) at random points.
 * Whatever the faults: a shape without failures completes with the output a straight run gives;
 * no step that completed runs again; when a step fails, every completed step with an undo is
 * undone exactly once and nothing else is.
 *
 * Runs a tenth of `FC_RUNS` cases (at least 10), seed `FC_SEED`:
 * `FC_SEED=<seed> FC_RUNS=<runs> pnpm --filter workflow test test/shapes.test.ts`.
 */
import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, describe, expect, inject, it } from "vitest";
import { T0, instance, nextRunAt, retryAlarm, run, setClock, start, stub } from "./helpers";
import { count, evaluateShape, shapeCrashes, type Shape } from "./workflows";

const runs = Math.max(10, Math.round(inject("fcRuns") / 10));
const seed = inject("fcSeed");
console.log(`shapes: ${runs} runs, seed ${seed}`);

const figures = { cases: 0, failing: 0, steps: 0, runs: 0, crashes: 0, evictions: 0, aborts: 0 };
afterAll(() => console.log(`shapes figures: ${JSON.stringify(figures)}`));

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
  return { ...shape, items: shape.items.map((item) => named(item, names)) };
}

function stepsOf(shape: Shape): Extract<Shape, { t: "step" }>[] {
  if (shape.t === "step") return [shape];
  if (shape.t === "sleep") return [];
  return shape.items.flatMap(stepsOf);
}

/** A whole workflow: a sequence or a Promise.all at the top, of 2 to 4 shapes. */
const workflowShape: fc.Arbitrary<Shape> = fc
  .record({
    t: fc.constantFrom("seq" as const, "all" as const),
    items: fc.array(anyShape, { minLength: 2, maxLength: 4 }),
  })
  .map((shape) => named(shape));

type Fault = "none" | "evict" | "abort" | { crash: "before" | "after"; at: number };
const fault: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 3, arbitrary: fc.constant("none" as const) },
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
  it("complete with a straight run's output, never rerun a completed step, and undo every completed step on failure", async () => {
    await fc.assert(
      fc.asyncProperty(workflowShape, fc.array(fault, { maxLength: 8 }), async (shape, faults) => {
        figures.cases++;
        const steps = stepsOf(shape);
        figures.steps += steps.length;
        const failing = steps.some((s) => s.fail);
        if (failing) figures.failing++;
        const id = await start("test-shape", { shape });
        let crashes = 0; // in a row: the platform's retry count for the next alarm
        let crashBudget = 2; // at most 2 crashes per case, under each step's 3 retries
        for (let i = 0; i < 40; i++) {
          const view = await instance(id);
          if (view.status === "complete" || view.status === "errored") break;
          const next = faults[i] ?? "none";
          if (next === "evict") {
            figures.evictions++;
            await evictDurableObject(stub(id));
          } else if (next === "abort") {
            figures.aborts++;
            await abortAllDurableObjects();
          } else if (typeof next === "object" && crashBudget > 0) {
            crashBudget--;
            await runInDurableObject(stub(id), (_runner, state) => {
              shapeCrashes.set(id, {
                countdown: next.at,
                where: next.crash,
                abort: () => state.abort("simulated crash"),
              });
            });
          }
          // Wake at the next due time (a sleep's end, a retry), as the platform would.
          await setClock(id, Math.max(T0, (await nextRunAt(id)) ?? T0));
          figures.runs++;
          const crashed = await (crashes === 0 ? run(id) : retryAlarm(id, crashes)).then(
            () => false,
            (error: unknown) => String(error).includes("simulated crash") || Promise.reject(error),
          );
          shapeCrashes.delete(id);
          if (crashed) figures.crashes++;
          crashes = crashed ? crashes + 1 : 0;
          for (const s of steps) expect(count(id, s.name), `step ${s.name} ran twice`).toBeLessThanOrEqual(1);
        }

        const view = await instance(id);
        if (!failing) {
          expect(view.status).toBe("complete");
          expect(view.output).toEqual(evaluateShape(shape));
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
