/**
 * Sliding window (the two-counter approximation Cloudflare and others use): the count of the
 * current fixed window plus the previous window's count weighted by how much of it the sliding
 * window still overlaps. Smooths the fixed window's double burst at boundaries with two numbers
 * instead of a log of timestamps.
 *
 *   estimate = previous * (period - elapsed) / period + current
 *
 * A request is admitted if `estimate + cost <= limit`. The comparison is done in BigInt on the
 * integer numerators, so a request exactly at the limit is decided exactly.
 *
 * State: `a` = start of the current window (ms), `b` = current count, `c` = previous count.
 *
 * @example
 * ```ts
 * slidingWindow.check({ limit: 100, period: 60 }, null, Date.now(), 1).remaining; // 99
 * ```
 */
import type { Algorithm, Decision, Rate, State } from "./types";

interface Windows {
  periodMs: number;
  start: number;
  elapsed: number;
  current: number;
  previous: number;
}

function windowsAt(rate: Rate, state: State | null, now: number): Windows {
  const periodMs = rate.period * 1000;
  const start = Math.floor(now / periodMs) * periodMs;
  let current = 0;
  let previous = 0;
  if (state && state.a === start) {
    current = state.b;
    previous = state.c;
  } else if (state && state.a === start - periodMs) {
    previous = state.b;
  }
  return { periodMs, start, elapsed: now - start, current, previous };
}

/** Units still available: floor((limit * P - previous * (P - elapsed)) / P) - current, at least 0. */
function remainingOf(rate: Rate, w: Windows): number {
  const p = BigInt(w.periodMs);
  const weighted = BigInt(w.previous) * BigInt(Math.ceil(w.periodMs - w.elapsed));
  const free = (BigInt(rate.limit) * p - weighted) / p - BigInt(w.current);
  return free > 0n ? Number(free) : 0;
}

/**
 * How long until `cost` more units fit. Within this window the previous count's weight falls
 * linearly; if even a weight of 0 is not enough, wait for the next window, where today's count
 * becomes the previous one.
 */
function waitFor(rate: Rate, w: Windows, cost: number): number {
  const room = rate.limit - w.current - cost;
  if (room >= 0 && w.previous > 0) {
    // previous * (P - e) <= room * P  <=>  e >= P - room * P / previous
    const elapsedNeeded = Math.ceil(w.periodMs - (room * w.periodMs) / w.previous);
    return Math.max(0, elapsedNeeded - w.elapsed);
  }
  const untilNext = w.periodMs - w.elapsed;
  const roomNext = rate.limit - cost;
  if (w.current === 0) return untilNext;
  return untilNext + Math.max(0, Math.ceil(w.periodMs - (roomNext * w.periodMs) / w.current));
}

function result(rate: Rate, w: Windows, now: number, allowed: boolean, retryAfterMs: number): Decision {
  const end = w.start + w.periodMs;
  return {
    allowed,
    state: { a: w.start, b: w.current, c: w.previous },
    remaining: remainingOf(rate, w),
    // Full again once neither window counts: after this window if only the previous one has units.
    resetMs: w.current > 0 ? end + w.periodMs - now : w.previous > 0 ? end - now : 0,
    retryAfterMs,
    expiresAt: end + w.periodMs,
  };
}

export const slidingWindow: Algorithm = {
  check(rate, state, now, cost) {
    const w = windowsAt(rate, state, now);
    const allowed = cost <= remainingOf(rate, w);
    if (!allowed) return result(rate, w, now, false, waitFor(rate, w, cost));
    return result(rate, { ...w, current: w.current + cost }, now, true, 0);
  },

  refund(rate, state, now, cost) {
    const w = windowsAt(rate, state, now);
    return result(rate, { ...w, current: Math.max(0, w.current - cost) }, now, true, 0);
  },
};
