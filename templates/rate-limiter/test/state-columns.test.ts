/** How the rate limiter stores each algorithm's state in the quota table's columns (src/algorithms/columns.ts). */
import { describe, expect, it } from "vitest";
import { ALGORITHMS } from "../src/algorithms";

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

describe("state columns", () => {
  it("store GCRA's theoretical arrival time as whole microseconds and an exact fraction", () => {
    const stored = ALGORITHMS.gcra;
    const used = stored.check({ limit: 3, period: 1 }, null, T0, 1);
    // TAT = T0 + 333,333 µs + 1/3 µs: a = whole µs, b / c = the fraction in ticks of 1 / limit µs.
    expect(used.state).toEqual({ a: T0 * 1000 + 333_333, b: 1, c: 3 });
    // A row written before fractions were stored (c = 0) holds whole microseconds and reads as such.
    expect(stored.check({ limit: 10, period: 1 }, { a: T0 * 1000 + 400_000, b: 0, c: 0 }, T0, 0).remaining).toBe(6);
    // A row written under another limit rounds its fraction up: never looser.
    expect(stored.check({ limit: 2, period: 1 }, used.state, T0, 0)).toMatchObject({ remaining: 1, resetMs: 334 });
  });
});
