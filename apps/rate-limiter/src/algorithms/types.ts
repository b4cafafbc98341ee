/**
 * What every algorithm shares: a policy's numbers, its stored state and the decision for one
 * request. Algorithms are pure functions of (policy, state, now, cost), so they are unit-tested
 * without a Durable Object and without a wall clock.
 */

/** The rate an algorithm enforces: `limit` units per `period` seconds (GCRA: up to `burst` at once). */
export interface Rate {
  limit: number;
  period: number;
  /** GCRA only: the most units available at once. Defaults to `limit`. */
  burst?: number | undefined;
}

/**
 * An algorithm's stored state: three integers, meaning what the algorithm says (GCRA uses `a`
 * only). One shape for all keeps the table one row per policy whatever the algorithm.
 */
export interface State {
  a: number;
  b: number;
  c: number;
}

/** The outcome of a request of `cost` units at `now`. Times are milliseconds. */
export interface Decision {
  allowed: boolean;
  /** The state to store when the request is admitted (equal to the old one when refused). */
  state: State;
  /** Units still available after this request (before it, when refused). */
  remaining: number;
  /** Until the policy is fully replenished (nothing counts any more). */
  resetMs: number;
  /** Until a request of this cost would be admitted; 0 when admitted. */
  retryAfterMs: number;
  /** From this instant the state is equivalent to no state at all: the row may be deleted. */
  expiresAt: number;
}

/** An algorithm: decide a request, and give units back. */
export interface Algorithm {
  /** Decides a request of `cost` units (0 peeks). `state` is `null` for a policy never used. */
  check(rate: Rate, state: State | null, now: number, cost: number): Decision;
  /** Gives `cost` units back, never above the full quota. */
  refund(rate: Rate, state: State | null, now: number, cost: number): Decision;
}
