/**
 * A property checked with fast-check: any sequence of checks and refunds (random policies,
 * costs and clock moves, with the object evicted at random points) gets exactly the answers the
 * pure algorithms predict. The object adds nothing and loses nothing.
 */
import { evictDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ALGORITHMS, type State } from "../src/algorithms";
import { api, check, freezeClock, json, stub, uniqueKey } from "./helpers";

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

const policyArb = fc.record({
  algorithm: fc.constantFrom("gcra" as const, "sliding-window" as const, "fixed-window" as const),
  limit: fc.integer({ min: 1, max: 8 }),
  period: fc.integer({ min: 1, max: 20 }),
});

const stepArb = fc.oneof(
  fc.record({ kind: fc.constant("check" as const), cost: fc.integer({ min: 0, max: 3 }), advance: fc.nat(4000) }),
  fc.record({ kind: fc.constant("refund" as const), cost: fc.integer({ min: 1, max: 3 }), advance: fc.nat(4000) }),
  fc.record({ kind: fc.constant("evict" as const) }),
);

describe("reliability", () => {
  it("answers every sequence of checks, refunds and evictions exactly as the algorithms predict", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(policyArb, { minLength: 1, maxLength: 3 }),
        fc.array(stepArb, { maxLength: 25 }),
        async (defs, steps) => {
          const key = uniqueKey("rel");
          const policies = defs.map((d, i) => ({ name: `p${i}`, ...d }));
          const model: (State | null)[] = policies.map(() => null);
          let now = T0;
          const setClock = await freezeClock(key, now);
          for (const step of steps) {
            if (step.kind === "evict") {
              await evictDurableObject(stub(key));
              await setClock(now); // the clock is a field: eviction resets it, as any memory
              continue;
            }
            now += step.advance;
            await setClock(now);
            if (step.kind === "check") {
              const decisions = policies.map((p, i) => ALGORITHMS[p.algorithm].check(p, model[i]!, now, step.cost));
              const allowed = decisions.every((d) => d.allowed);
              const capacity = Math.min(...policies.map((p) => p.limit));
              const response = await check({ key, policies, cost: step.cost });
              if (step.cost > capacity) {
                expect(response.status).toBe(422);
                continue;
              }
              const body = (await response.json()) as { allowed: boolean; policies: { remaining: number }[] };
              expect(body.allowed).toBe(allowed);
              expect(response.status).toBe(allowed ? 200 : 429);
              if (allowed && step.cost > 0) decisions.forEach((d, i) => (model[i] = d.state));
              const expected = policies.map((p, i) => ALGORITHMS[p.algorithm].check(p, model[i]!, now, 0).remaining);
              expect(body.policies.map((p) => p.remaining)).toEqual(expected);
            } else {
              const response = await api(`/api/keys/${key}/refund`, json("POST", { policies, cost: step.cost }));
              expect(response.status).toBe(200);
              model.forEach((state, i) => {
                if (state)
                  model[i] = ALGORITHMS[policies[i]!.algorithm].refund(policies[i]!, state, now, step.cost).state;
              });
              const body = (await response.json()) as { policies: { remaining: number }[] };
              const expected = policies.map((p, i) => ALGORITHMS[p.algorithm].check(p, model[i]!, now, 0).remaining);
              expect(body.policies.map((p) => p.remaining)).toEqual(expected);
            }
          }
        },
      ),
      { numRuns: 40, seed: 20261123 },
    );
  });
});
