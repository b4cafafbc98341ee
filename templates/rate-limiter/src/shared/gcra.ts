// Vendored from durable-patterns packages/shared/src/gcra.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * GCRA, the generic cell rate algorithm: a token bucket stored as one point in time.
 *
 * Each unit "costs" an emission interval `T = period / limit`. The state is the theoretical
 * arrival time (TAT): when the bucket will be full again. A request of `cost` units moves it to
 * `max(TAT, now) + cost * T` and is admitted if that is at most `burst * T` ahead of now. One row
 * read and one written per check, whatever the traffic.
 *
 * The arithmetic is exact for every rate whose period is a whole number of microseconds. `T` is a fraction of a
 * microsecond for policies faster than 1,000,000 per second, and a repeating decimal for most
 * others (3 per second), so time is counted in ticks of `1 / limit` µs, where `T` is exactly
 * `period × 1,000,000` ticks, with BigInt (now × limit outgrows 2^53). The TAT is kept as whole
 * microseconds plus the remaining ticks and their denominator, all small integers
 * ({@link GcraState}). State written before this representation (`ticksPerUs` = 0) holds whole
 * microseconds and reads exactly; state written under another limit rounds its fraction up (never
 * looser). Callers keep a full bucket's refill under a year (the rate limiter refuses longer
 * policies in its src/policy.ts), which keeps every stored time far inside 2^53 µs.
 *
 * @example
 * ```ts
 * const first = gcra.check({ limit: 10, period: 1 }, null, Date.now(), 1);
 * first.allowed; // true, first.remaining === 9
 * ```
 */
import type { Algorithm, Decision, Rate } from "./rate";

/**
 * What GCRA keeps per policy: the TAT, exactly, as `tatUs + tatTicks / ticksPerUs` microseconds
 * since the epoch.
 */
export interface GcraState {
  /** The TAT's whole microseconds. */
  tatUs: number;
  /** The TAT's fraction of a microsecond beyond `tatUs`, in ticks of `1 / ticksPerUs` µs. */
  tatTicks: number;
  /**
   * The ticks per microsecond `tatTicks` was counted in: the policy's limit when it was written.
   * 0 for state written before fractions were kept: the TAT is `tatUs`, whole.
   */
  ticksPerUs: number;
}

const US_PER_MS = 1000;

/** The policy in ticks of `1 / limit` µs: one unit's interval and the whole bucket's. */
function ticksOf(rate: Rate) {
  const perUs = BigInt(rate.limit);
  const interval = BigInt(Math.round(rate.period * 1_000_000));
  return { perUs, perMs: perUs * BigInt(US_PER_MS), interval, tolerance: BigInt(rate.burst ?? rate.limit) * interval };
}

/** `ceil(n / d)` for `n >= 0`, `d > 0`. */
function ceilDiv(n: bigint, d: bigint): bigint {
  return (n + d - 1n) / d;
}

/** The state's TAT in ticks of `1 / perUs` µs (0 when there is none). */
function tatOf(state: GcraState | null, perUs: bigint): bigint {
  if (!state) return 0n;
  const whole = BigInt(Math.ceil(state.tatUs)) * perUs;
  if (state.ticksPerUs <= 0 || state.tatTicks <= 0) return whole;
  return whole + ceilDiv(BigInt(state.tatTicks) * perUs, BigInt(state.ticksPerUs));
}

/** The state holding `tat`, in ticks of `1 / perUs` µs. */
function stateOf(tat: bigint, perUs: bigint): GcraState {
  return { tatUs: Number(tat / perUs), tatTicks: Number(tat % perUs), ticksPerUs: Number(perUs) };
}

/** Now in ticks: the clock's milliseconds to whole microseconds, times `limit`. */
function nowIn(now: number, perUs: bigint): bigint {
  return BigInt(Math.round(now * US_PER_MS)) * perUs;
}

function decide(rate: Rate, tat: bigint, now: number, cost: number): Decision<GcraState> {
  const { perUs, perMs, interval, tolerance } = ticksOf(rate);
  const nowTicks = nowIn(now, perUs);
  const base = tat > nowTicks ? tat : nowTicks;
  const next = base + BigInt(cost) * interval;
  const allowed = next - nowTicks <= tolerance;
  const kept = allowed ? next : tat;
  const used = (allowed ? next : base) - nowTicks;
  const free = tolerance - used;
  return {
    allowed,
    state: stateOf(kept, perUs),
    remaining: free > 0n ? Number(free / interval) : 0,
    // Whole milliseconds, rounded up: a client that waits this long is never early.
    resetMs: Number(ceilDiv(used, perMs)),
    retryAfterMs: allowed ? 0 : Number(ceilDiv(next - nowTicks - tolerance, perMs)),
    expiresAt: Number(ceilDiv(kept > nowTicks ? kept : nowTicks, perMs)),
  };
}

export const gcra: Algorithm<GcraState> = {
  check: (rate, state, now, cost) => decide(rate, tatOf(state, BigInt(rate.limit)), now, cost),

  refund(rate, state, now, cost) {
    const { perUs, interval } = ticksOf(rate);
    const nowTicks = nowIn(now, perUs);
    // Moving the TAT back never takes it before now: a refund cannot create more than a full bucket.
    const back = tatOf(state, perUs) - BigInt(cost) * interval;
    return decide(rate, back > nowTicks ? back : nowTicks, now, 0);
  },
};
