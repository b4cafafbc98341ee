/**
 * GCRA, the generic cell rate algorithm: a token bucket stored as one number.
 *
 * Each unit "costs" an emission interval `T = period / limit`. The state is the theoretical
 * arrival time (TAT): when the bucket will be full again. A request of `cost` units moves it to
 * `max(TAT, now) + cost * T` and is admitted if that is at most `burst * T` ahead of now. One row
 * read and one written per check, whatever the traffic.
 *
 * Time is kept in integer microseconds, and `T` is rounded up to a whole microsecond: the
 * arithmetic is exact (no floating-point drift at epoch-sized numbers), and rounding only ever
 * makes the limiter stricter, never looser.
 *
 * @example
 * ```ts
 * const first = gcra.check({ limit: 10, period: 1 }, null, Date.now(), 1);
 * first.allowed; // true, first.remaining === 9
 * ```
 */
import type { Algorithm, Decision, Rate, State } from "./types";

const US_PER_MS = 1000;

/** The emission interval in whole microseconds (rounded up: never looser than the policy). */
export function emissionInterval(rate: Rate): number {
  return Math.ceil((rate.period * 1_000_000) / rate.limit);
}

function burstOf(rate: Rate): number {
  return rate.burst ?? rate.limit;
}

function decide(rate: Rate, tat: number, nowUs: number, cost: number, store: (tat: number) => State): Decision {
  const interval = emissionInterval(rate);
  const tolerance = burstOf(rate) * interval;
  const base = Math.max(tat, nowUs);
  const next = base + cost * interval;
  const allowed = next - nowUs <= tolerance;
  const kept = allowed ? next : base;
  return {
    allowed,
    state: store(allowed ? next : tat),
    remaining: Math.max(0, Math.floor((tolerance - (kept - nowUs)) / interval)),
    resetMs: Math.max(0, kept - nowUs) / US_PER_MS,
    retryAfterMs: allowed ? 0 : (next - nowUs - tolerance) / US_PER_MS,
    expiresAt: Math.ceil(Math.max(allowed ? next : tat, nowUs) / US_PER_MS),
  };
}

export const gcra: Algorithm = {
  check(rate, state, now, cost) {
    const nowUs = Math.round(now * US_PER_MS);
    return decide(rate, state?.a ?? 0, nowUs, cost, (tat) => ({ a: tat, b: 0, c: 0 }));
  },

  refund(rate, state, now, cost) {
    const nowUs = Math.round(now * US_PER_MS);
    // Moving the TAT back never takes it before now: a refund cannot create more than a full bucket.
    const tat = Math.max(nowUs, (state?.a ?? 0) - cost * emissionInterval(rate));
    return { ...decide(rate, tat, nowUs, 0, (t) => ({ a: t, b: 0, c: 0 })), state: { a: tat, b: 0, c: 0 } };
  },
};
