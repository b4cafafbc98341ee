/**
 * Sliding window (the two-counter approximation Cloudflare and others use): the count of the
 * current fixed window plus the previous window's count weighted by how much of it the sliding
 * window still overlaps. Smooths the fixed window's double burst at boundaries with two numbers
 * instead of a log of timestamps.
 *
 *   estimate = previous * (period - elapsed) / period + current
 *
 * A request is admitted if `estimate + cost <= limit`. The comparison and the waits are computed
 * in BigInt on the integer numerators, so a request exactly at the limit is decided exactly.
 *
 * A key's window never moves backwards: when the clock steps back before the start of the window
 * the key has counted in, the request is decided as at that start (the previous window weighing
 * fully), never in an earlier window that would not see the current count.
 *
 * State: {@link SlidingWindowState}.
 *
 * @example
 * ```ts
 * slidingWindow.check({ limit: 100, period: 60 }, null, Date.now(), 1).remaining; // 99
 * ```
 */
import type { Algorithm, Decision, Rate } from "../shared";

/** What a sliding window keeps per policy: the current window and the counts of it and the one before. */
export interface SlidingWindowState {
  /** Start of the current window, epoch ms (a multiple of the period). */
  windowStart: number;
  /** Units counted in the current window. */
  current: number;
  /** Units counted in the window before it (0 when that one counted nothing). */
  previous: number;
}

interface Windows {
  periodMs: number;
  start: number;
  elapsed: number;
  current: number;
  previous: number;
}

function windowsAt(rate: Rate, state: SlidingWindowState | null, now: number): Windows {
  const periodMs = rate.period * 1000;
  // The window of `now`, or the stored one when the clock has stepped back before it.
  const start = Math.max(Math.floor(now / periodMs) * periodMs, state?.windowStart ?? -Infinity);
  let current = 0;
  let previous = 0;
  if (state && state.windowStart === start) {
    current = state.current;
    previous = state.previous;
  } else if (state && state.windowStart === start - periodMs) {
    // The stored window is the one before: its count is now the previous one.
    previous = state.current;
  }
  return { periodMs, start, elapsed: Math.max(0, now - start), current, previous };
}

/** Units still available: floor((limit * P - previous * (P - elapsed)) / P) - current, at least 0. */
function remainingOf(rate: Rate, w: Windows): number {
  const p = BigInt(w.periodMs);
  const weighted = BigInt(w.previous) * BigInt(Math.ceil(w.periodMs - w.elapsed));
  const free = (BigInt(rate.limit) * p - weighted) / p - BigInt(w.current);
  return free > 0n ? Number(free) : 0;
}

/**
 * The first whole millisecond `e` into a window at which `count * (P - e) <= room * P`, that is
 * `e = ceil(P - room * P / count) = P - floor(room * P / count)` (BigInt: `room * P` can pass 2^53).
 */
function elapsedNeeded(periodMs: number, room: number, count: number): number {
  return Math.max(0, periodMs - Number((BigInt(room) * BigInt(periodMs)) / BigInt(count)));
}

/**
 * How long until `cost` more units fit. Within this window the previous count's weight falls
 * linearly; if even a weight of 0 is not enough, wait for the next window, where today's count
 * becomes the previous one. Measured from `now`, which is before `start` after a clock step back.
 */
function waitFor(rate: Rate, w: Windows, now: number, cost: number): number {
  const room = rate.limit - w.current - cost;
  if (room >= 0 && w.previous > 0) {
    return Math.max(0, w.start + elapsedNeeded(w.periodMs, room, w.previous) - now);
  }
  const untilNext = w.start + w.periodMs - now;
  if (w.current === 0) return untilNext;
  return untilNext + elapsedNeeded(w.periodMs, rate.limit - cost, w.current);
}

function result(
  rate: Rate,
  w: Windows,
  now: number,
  allowed: boolean,
  retryAfterMs: number,
): Decision<SlidingWindowState> {
  const end = w.start + w.periodMs;
  return {
    allowed,
    state: { windowStart: w.start, current: w.current, previous: w.previous },
    remaining: remainingOf(rate, w),
    // Full again once neither window counts: after this window if only the previous one has units.
    resetMs: w.current > 0 ? end + w.periodMs - now : w.previous > 0 ? end - now : 0,
    retryAfterMs,
    expiresAt: end + w.periodMs,
  };
}

export const slidingWindow: Algorithm<SlidingWindowState> = {
  check(rate, state, now, cost) {
    const w = windowsAt(rate, state, now);
    const allowed = cost <= remainingOf(rate, w);
    if (!allowed) return result(rate, w, now, false, waitFor(rate, w, now, cost));
    return result(rate, { ...w, current: w.current + cost }, now, true, 0);
  },

  refund(rate, state, now, cost) {
    const w = windowsAt(rate, state, now);
    return result(rate, { ...w, current: Math.max(0, w.current - cost) }, now, true, 0);
  },
};
