/** The fixed and sliding windows as pure functions, with an injected clock. */
import { describe, expect, it } from "vitest";
import { fixedWindow } from "../src/algorithms/fixed-window";
import { slidingWindow } from "../src/algorithms/sliding-window";
import type { Algorithm } from "../src/algorithms";

// A minute boundary, so 60-second windows start here.
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

function run<S>(algorithm: Algorithm<S>, rate: { limit: number; period: number }, times: number[], cost = 1) {
  let state: S | null = null;
  return times.map((t) => {
    const decision = algorithm.check(rate, state, T0 + t, cost);
    if (decision.allowed) state = decision.state;
    return decision;
  });
}

describe("fixed window", () => {
  const rate = { limit: 3, period: 60 };

  it("admits the limit per window and starts over exactly at the boundary", () => {
    const decisions = run(fixedWindow, rate, [0, 1, 2, 59_999, 60_000]);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, true]);
    expect(decisions[3]).toMatchObject({ remaining: 0, retryAfterMs: 1, resetMs: 1 });
    expect(decisions[4]).toMatchObject({ remaining: 2, resetMs: 60_000, expiresAt: T0 + 120_000 });
  });

  it("aligns windows to the period: a request at 59 s gets a fresh window 1 s later", () => {
    expect(run(fixedWindow, rate, [59_000, 59_000, 59_000, 59_000, 60_000]).map((d) => d.allowed)).toEqual([
      true,
      true,
      true,
      false,
      true,
    ]);
  });

  it("refunds only the current window, never below zero", () => {
    const [used] = run(fixedWindow, rate, [0], 3);
    expect(fixedWindow.refund(rate, used!.state, T0 + 1, 2).remaining).toBe(2);
    expect(fixedWindow.refund(rate, used!.state, T0 + 1, 10).remaining).toBe(3);
  });
});

describe("sliding window", () => {
  const rate = { limit: 10, period: 60 };

  it("weights the previous window by how much of it still overlaps", () => {
    // 10 in the first window; 15 s into the next, 3/4 of them still count: 7.5 -> 2 remain.
    const full = run(slidingWindow, rate, Array(10).fill(0));
    const state = full.at(-1)!.state;
    expect(slidingWindow.check(rate, state, T0 + 75_000, 0).remaining).toBe(2);
    // Halfway, exactly 5 count: exactly 5 remain.
    expect(slidingWindow.check(rate, state, T0 + 90_000, 0).remaining).toBe(5);
    expect(slidingWindow.check(rate, state, T0 + 90_000, 5).allowed).toBe(true);
    expect(slidingWindow.check(rate, state, T0 + 90_000, 6).allowed).toBe(false);
  });

  it("tells a refused request exactly when its cost fits", () => {
    const state = run(slidingWindow, rate, Array(10).fill(0)).at(-1)!.state;
    const refused = slidingWindow.check(rate, state, T0 + 75_000, 6);
    // 6 fit once the previous 10 weigh 4: at 36 s into the window, 21 s from now.
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 21_000 });
    expect(slidingWindow.check(rate, state, T0 + 96_000, 6).allowed).toBe(true);
    expect(slidingWindow.check(rate, state, T0 + 95_999, 6).allowed).toBe(false);
  });

  it("forgets everything two windows later", () => {
    const state = run(slidingWindow, rate, Array(10).fill(0)).at(-1)!.state;
    expect(slidingWindow.check(rate, state, T0 + 120_000, 0)).toMatchObject({ remaining: 10, resetMs: 0 });
  });

  it("never admits more than the limit within one window", () => {
    const times = Array.from({ length: 200 }, (_, i) => i * 300); // every 300 ms for a minute
    const admitted = run(slidingWindow, rate, times).filter((d) => d.allowed).length;
    expect(admitted).toBe(10);
  });
});
