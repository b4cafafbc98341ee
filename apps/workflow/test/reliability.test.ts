/**
 * Property: whatever happens to an instance, in whatever order (runs at random times, events,
 * pause and resume, eviction, every object aborted), a step never runs twice, no request gets a
 * 5xx, and once everything has run the instance completes with the right output.
 *
 * fast-check generates the sequences: FC_RUNS cases (default 25), from the fixed seed FC_SEED
 * (printed on failure; replay with FC_SEED=<seed>).
 */
import { abortAllDurableObjects, evictDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, inject, it } from "vitest";
import { T0, instance, lifecycle, run, sendEvent, setClock, start, stub } from "./helpers";
import { count } from "./workflows";

const runs = inject("fcRuns");
const seed = inject("fcSeed");

type Op =
  | { kind: "advance"; ms: number }
  | { kind: "run" }
  | { kind: "event"; payload: number }
  | { kind: "pause-resume" }
  | { kind: "evict" }
  | { kind: "abort" };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
  fc.constant({ kind: "run" as const }),
  fc.record({ kind: fc.constant("event" as const), payload: fc.integer({ min: 0, max: 9 }) }),
  fc.constant({ kind: "pause-resume" as const }),
  fc.constant({ kind: "evict" as const }),
  fc.constant({ kind: "abort" as const }),
);

describe("reliability", () => {
  it("never runs a step twice and always completes, whatever the interleaving", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        const id = await start("test-mixed");
        let now = T0;
        let firstEvent: number | null = null;
        for (const step of ops) {
          switch (step.kind) {
            case "advance":
              now += step.ms;
              await setClock(id, now);
              break;
            case "run":
              await run(id);
              break;
            case "event": {
              const response = await sendEvent(id, "go", step.payload);
              expect(response.status).toBeLessThan(500);
              if (response.status === 202 && firstEvent === null) firstEvent = step.payload;
              break;
            }
            case "pause-resume":
              expect((await lifecycle(id, "pause")).status).toBeLessThan(500);
              expect((await lifecycle(id, "resume")).status).toBeLessThan(500);
              break;
            case "evict":
              await evictDurableObject(stub(id));
              await setClock(id, now); // the clock is a field: set it again on the new instance
              break;
            case "abort":
              await abortAllDurableObjects();
              await setClock(id, now);
              break;
          }
          expect(count(id, "a")).toBeLessThanOrEqual(1);
          expect(count(id, "b")).toBeLessThanOrEqual(1);
        }

        // Let everything happen: resume if paused, send the event if none was taken, pass the sleep.
        if ((await instance(id)).status === "paused") await lifecycle(id, "resume");
        if (firstEvent === null) {
          firstEvent = 7;
          await sendEvent(id, "go", firstEvent);
        }
        for (let i = 0; i < 4 && (await instance(id)).status !== "complete"; i++) {
          now += 120_000; // past any sleep started by the previous run
          await setClock(id, now);
          await run(id);
        }

        const view = await instance(id);
        expect(view.status).toBe("complete");
        expect(view.output).toEqual({ a: 1, go: firstEvent, b: 1 });
        expect([count(id, "a"), count(id, "b")]).toEqual([1, 1]);
      }),
      { numRuns: runs, seed },
    );
  });
});
