/**
 * Fixed window: a counter per period, aligned to multiples of the period since the epoch (a
 * 60-second window starts on the minute). Simple and exact, but allows up to twice the limit
 * across a window boundary (the end of one window and the start of the next).
 *
 * State: `a` = start of the counted window (ms), `b` = units counted in it.
 *
 * @example
 * ```ts
 * fixedWindow.check({ limit: 100, period: 60 }, null, Date.now(), 1).remaining; // 99
 * ```
 */
import type { Algorithm, Decision, Rate, State } from "./types";

function decide(rate: Rate, state: State | null, now: number, change: (count: number) => number | null): Decision {
  const periodMs = rate.period * 1000;
  const start = Math.floor(now / periodMs) * periodMs;
  const end = start + periodMs;
  const count = state && state.a === start ? state.b : 0;
  const next = change(count);
  const kept = next ?? count;
  return {
    allowed: next !== null,
    state: { a: start, b: kept, c: 0 },
    remaining: Math.max(0, rate.limit - kept),
    resetMs: kept > 0 ? end - now : 0,
    retryAfterMs: next === null ? end - now : 0,
    expiresAt: end,
  };
}

export const fixedWindow: Algorithm = {
  check: (rate, state, now, cost) =>
    decide(rate, state, now, (count) => (count + cost <= rate.limit ? count + cost : null)),
  refund: (rate, state, now, cost) => decide(rate, state, now, (count) => Math.max(0, count - cost)),
};
