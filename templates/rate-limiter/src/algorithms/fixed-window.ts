/**
 * Fixed window: a counter per period, aligned to multiples of the period since the epoch (a
 * 60-second window starts on the minute). Simple and exact, but allows up to twice the limit
 * across a window boundary (the end of one window and the start of the next).
 *
 * A key's window never moves backwards: when the clock steps back (NTP, another isolate's clock)
 * to before the window the key has counted in, the request counts in that window, not in an
 * earlier, empty one (which would grant the limit again).
 *
 * State: {@link FixedWindowState}.
 *
 * @example
 * ```ts
 * fixedWindow.check({ limit: 100, period: 60 }, null, Date.now(), 1).remaining; // 99
 * ```
 */
import type { Algorithm, Decision, Rate } from "../shared";

/** What a fixed window keeps per policy: the window it has counted in, and its count. */
export interface FixedWindowState {
  /** Start of the counted window, epoch ms (a multiple of the period). */
  windowStart: number;
  /** Units counted in that window. */
  count: number;
}

function decide(
  rate: Rate,
  state: FixedWindowState | null,
  now: number,
  change: (count: number) => number | null,
): Decision<FixedWindowState> {
  const periodMs = rate.period * 1000;
  // The window of `now`, or the stored one when the clock has stepped back before it.
  const start = Math.max(Math.floor(now / periodMs) * periodMs, state?.windowStart ?? -Infinity);
  const end = start + periodMs;
  const count = state && state.windowStart === start ? state.count : 0;
  const next = change(count);
  const kept = next ?? count;
  return {
    allowed: next !== null,
    state: { windowStart: start, count: kept },
    remaining: Math.max(0, rate.limit - kept),
    resetMs: kept > 0 ? end - now : 0,
    retryAfterMs: next === null ? end - now : 0,
    expiresAt: end,
  };
}

export const fixedWindow: Algorithm<FixedWindowState> = {
  check: (rate, state, now, cost) =>
    decide(rate, state, now, (count) => (count + cost <= rate.limit ? count + cost : null)),
  refund: (rate, state, now, cost) => decide(rate, state, now, (count) => Math.max(0, count - cost)),
};
