/** GCRA as a pure function: one stored number per policy, decided with an injected clock. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gcra, type GcraState } from "../src/gcra";

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/** Runs checks at the given times (ms after T0) and returns which were admitted. */
function run(rate: { limit: number; period: number; burst?: number }, times: number[], cost = 1): boolean[] {
  let state: GcraState | null = null;
  return times.map((t) => {
    const decision = gcra.check(rate, state, T0 + t, cost);
    if (decision.allowed) state = decision.state;
    return decision.allowed;
  });
}

describe("GCRA", () => {
  it("admits a full burst at once, then one unit per emission interval", () => {
    // 10 per second: a burst of 10, then one every 100 ms.
    expect(run({ limit: 10, period: 1 }, Array(11).fill(0))).toEqual([...Array(10).fill(true), false]);
    expect(run({ limit: 10, period: 1 }, [...Array(10).fill(0), 99, 100, 100])).toEqual([
      ...Array(10).fill(true),
      false,
      true,
      false,
    ]);
  });

  it("admits a request that arrives exactly when its unit is due, and refuses one a microsecond earlier", () => {
    const rate = { limit: 1, period: 60 };
    expect(run(rate, [0, 60_000])).toEqual([true, true]);
    expect(run(rate, [0, 59_999.999])).toEqual([true, false]);
  });

  it("lets burst differ from the sustained rate", () => {
    // 1 per second sustained, up to 5 at once.
    expect(run({ limit: 1, period: 1, burst: 5 }, Array(6).fill(0))).toEqual([...Array(5).fill(true), false]);
  });

  it("reports remaining, reset and retry-after", () => {
    const rate = { limit: 10, period: 1 };
    const first = gcra.check(rate, null, T0, 4);
    expect(first).toMatchObject({ allowed: true, remaining: 6, resetMs: 400, retryAfterMs: 0, expiresAt: T0 + 400 });
    const refused = gcra.check(rate, first.state, T0, 7);
    // 7 units need 700 ms of room; 600 ms are free: wait 100 ms.
    expect(refused).toMatchObject({ allowed: false, remaining: 6, resetMs: 400, retryAfterMs: 100 });
    expect(refused.state).toEqual(first.state);
  });

  it("weighs a request by its cost", () => {
    expect(run({ limit: 10, period: 1 }, [0, 0, 0], 4)).toEqual([true, true, false]);
  });

  it("refunds units without ever exceeding a full bucket", () => {
    const rate = { limit: 10, period: 1 };
    const used = gcra.check(rate, null, T0, 10);
    expect(gcra.refund(rate, used.state, T0, 3).remaining).toBe(3);
    expect(gcra.refund(rate, used.state, T0, 50).remaining).toBe(10);
  });

  it("keeps the emission interval exact: 3 per second admits 3 every second, forever", () => {
    // One unit every 333,333.3 µs: rounding it to whole microseconds would drift either way.
    const times = Array.from({ length: 3_000 }, (_, i) => Math.floor(i / 3) * 1000);
    expect(run({ limit: 3, period: 1 }, times).every(Boolean)).toBe(true);
    // 999 ms after a full burst, two units (at 333.3 and 666.7 ms) are back, not the third.
    expect(run({ limit: 3, period: 1 }, [0, 0, 0, 999, 999, 999, 1000])).toEqual([...Array(5).fill(true), false, true]);
  });

  it("stores the theoretical arrival time as microseconds plus an exact fraction of one", () => {
    // TAT = T0 + 333,333 µs + 1/3 µs: whole microseconds plus the fraction, in ticks of 1 / limit µs.
    expect(gcra.check({ limit: 3, period: 1 }, null, T0, 1).state).toEqual({
      tatUs: T0 * 1000 + 333_333,
      tatTicks: 1,
      ticksPerUs: 3,
    });
  });

  it("never admits more than burst + elapsed * rate in any run of requests", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 200 }),
        (limit, period, gaps) => {
          const times = gaps.reduce<number[]>((acc, gap) => [...acc, (acc.at(-1) ?? 0) + gap], []);
          const admitted = run({ limit, period }, times).filter(Boolean).length;
          const elapsed = times.at(-1)! - times[0]!;
          expect(admitted).toBeLessThanOrEqual(limit + Math.floor((elapsed * limit) / (period * 1000)));
        },
      ),
      { numRuns: 200, seed: 20261123 },
    );
  });
});
