/**
 * A per-connection message rate limit (GCRA, the rate limiter's exact one from packages/shared)
 * with a limit on refusals, kept as a few numbers so it fits in the socket's attachment and survives hibernation: a limit held in a field of the object
 * would reset every time the object wakes up, which is exactly when a flooding client keeps it
 * busy.
 *
 * Frames over the rate are refused with a warning. Warnings are limited too, over a window rather
 * than in a row: the first refusal opens a window of `windowMs`, and a refusal beyond `warnings`
 * in it closes the connection. (Counting refusals in a row would let a client sending at 4× the
 * rate stay forever: every fourth frame is allowed and would start the count over.)
 *
 * @example
 * ```ts
 * const limit = { messages: 20, windowMs: 10_000, warnings: 3 };
 * let state = initialRate();
 * const decision = checkRate(state, limit, Date.now());
 * if (decision.verdict === "close") ... // close the socket; the state no longer matters
 * else state = decision.state; // store it back in the attachment, allowed or warned
 * ```
 */

import { gcra, type GcraState } from "./shared";

/** What the limiter remembers about one connection. */
export interface RateState {
  /** GCRA's theoretical arrival time of the next message; null before the first. */
  gcra: GcraState | null;
  /** Frames refused since `refusedSince`. */
  refused: number;
  /** When the first refusal of the current window happened (epoch ms). */
  refusedSince: number;
}

export interface RateLimit {
  /** At most this many frames in any `windowMs` (a burst of all of them, then one per `windowMs / messages`). */
  messages: number;
  windowMs: number;
  /** Refusals allowed within `windowMs` of the first one; one more closes the connection. */
  warnings: number;
}

export type RateDecision =
  | { verdict: "allow"; state: RateState }
  | { verdict: "warn"; state: RateState; warning: number; retryAfterMs: number }
  | { verdict: "close" };

export function initialRate(): RateState {
  return { gcra: null, refused: 0, refusedSince: 0 };
}

/**
 * Allows a frame if at most `messages` were allowed in the last `windowMs` (on average: a client
 * may burst the whole allowance, then one frame per `windowMs / messages`); otherwise warns, or
 * closes when the refusals in the window since the first one exceed `warnings`.
 */
export function checkRate(state: RateState, limit: RateLimit, now: number): RateDecision {
  // A burst of the whole allowance, then one frame per `windowMs / messages`.
  const decision = gcra.check({ limit: limit.messages, period: limit.windowMs / 1000 }, state.gcra, now, 1);
  if (decision.allowed) return { verdict: "allow", state: { ...state, gcra: decision.state } };
  // A window that has passed (or that the clock stepped back before) starts over with this refusal.
  // Written as "not within the window" so that a state without `refusedSince` starts one too.
  const fresh = !(now >= state.refusedSince && now - state.refusedSince < limit.windowMs);
  const refused = fresh ? 1 : state.refused + 1;
  if (refused > limit.warnings) return { verdict: "close" };
  return {
    verdict: "warn",
    state: { gcra: state.gcra, refused, refusedSince: fresh ? now : state.refusedSince },
    warning: refused,
    retryAfterMs: decision.retryAfterMs,
  };
}
