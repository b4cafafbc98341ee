// Vendored from durable-patterns packages/shared/src/rate.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * What every rate-limiting algorithm shares: a policy's numbers, the shape of a decision for one
 * request, and the interface over the algorithm's own named state (`S`). Algorithms are pure
 * functions of (policy, state, now, cost), so they are unit-tested without a Durable Object and
 * without a wall clock, and how their state is stored is the caller's business: the rate limiter
 * keeps it in table columns (apps/rate-limiter/src/algorithms/columns.ts), the chat room in each
 * socket's attachment. GCRA (gcra.ts) lives here because both use it; the window algorithms only
 * the rate limiter needs live in that app.
 */

/** The rate an algorithm enforces: `limit` units per `period` seconds (GCRA: up to `burst` at once). */
export interface Rate {
  limit: number;
  /** Seconds; exact to the microsecond (the rate limiter accepts whole seconds only). */
  period: number;
  /** GCRA only: the most units available at once. Defaults to `limit`. */
  burst?: number | undefined;
}

/** The outcome of a request of `cost` units at `now`, with the algorithm's state `S`. Times are milliseconds. */
export interface Decision<S> {
  allowed: boolean;
  /** The state to store when the request is admitted (equal to the old one when refused). */
  state: S;
  /** Units still available after this request (before it, when refused). */
  remaining: number;
  /** Until the policy is fully replenished (nothing counts any more). */
  resetMs: number;
  /** Until a request of this cost would be admitted; 0 when admitted. */
  retryAfterMs: number;
  /** From this instant the state is equivalent to no state at all: the row may be deleted. */
  expiresAt: number;
}

/** An algorithm over its state `S`: decide a request, and give units back. */
export interface Algorithm<S> {
  /** Decides a request of `cost` units (0 peeks). `state` is `null` for a policy never used. */
  check(rate: Rate, state: S | null, now: number, cost: number): Decision<S>;
  /** Gives `cost` units back, never above the full quota. */
  refund(rate: Rate, state: S | null, now: number, cost: number): Decision<S>;
}
