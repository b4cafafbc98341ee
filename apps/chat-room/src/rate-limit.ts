/**
 * A per-connection message rate limit (GCRA), kept as two numbers so it fits in the socket's
 * attachment and survives hibernation: a limit held in a field of the object would reset every
 * time the object wakes up, which is exactly when a flooding client keeps it busy.
 *
 * @example
 * ```ts
 * const limit = { messages: 20, windowMs: 10_000 };
 * let state = initialRate();
 * const decision = checkRate(state, limit, Date.now());
 * state = decision.state; // store it back in the attachment either way
 * if (!decision.allowed) ...
 * ```
 */

/** What the limiter remembers about one connection. */
export interface RateState {
  /** GCRA's theoretical arrival time (epoch ms) of the next message. */
  tat: number;
  /** Messages refused in a row; reset by an allowed message. */
  refused: number;
}

export function initialRate(): RateState {
  return { tat: 0, refused: 0 };
}

/**
 * Allows a message if at most `messages` were allowed in the last `windowMs` (on average: a
 * client may burst the whole allowance, then one message per `windowMs / messages`).
 */
export function checkRate(
  state: RateState,
  limit: { messages: number; windowMs: number },
  now: number,
): { allowed: boolean; state: RateState; retryAfterMs: number } {
  const interval = limit.windowMs / limit.messages;
  const tat = Math.max(state.tat, now);
  // The burst tolerance: the whole window minus the slot this message would take.
  const earliest = tat - (limit.windowMs - interval);
  if (now < earliest) {
    return { allowed: false, state: { tat: state.tat, refused: state.refused + 1 }, retryAfterMs: earliest - now };
  }
  return { allowed: true, state: { tat: tat + interval, refused: 0 }, retryAfterMs: 0 };
}
