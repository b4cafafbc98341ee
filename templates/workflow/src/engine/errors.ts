/**
 * Errors a workflow's code sees or throws. Errors thrown into workflow code are rebuilt from what
 * SQLite stored, so a replay throws exactly what the first run threw.
 */

/**
 * Throw it from a step to fail the step at once, without the remaining retries.
 *
 * @example
 * ```ts
 * await step.do("charge", async () => {
 *   const res = await fetch(url, { method: "POST" });
 *   if (res.status === 402) throw new NonRetryableError("card declined");
 * });
 * ```
 */
export class NonRetryableError extends Error {
  override name = "NonRetryableError";
}

/** What an error looked like when it was stored. */
export interface StoredError {
  name: string;
  message: string;
}

/** A step failed for good (retries used up, a NonRetryableError, or a timeout on the last attempt). */
export class StepFailedError extends Error {
  override name = "StepFailedError";
  constructor(
    readonly step: string,
    readonly attempts: number,
    override readonly cause: StoredError,
  ) {
    super(
      `Step "${step}" failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${cause.name}: ${cause.message}`,
    );
  }
}

/** `step.waitForEvent` saw no matching event before its timeout. */
export class WaitTimeoutError extends Error {
  override name = "WaitTimeoutError";
  constructor(
    readonly step: string,
    readonly type: string,
    readonly timeoutMs: number,
  ) {
    super(`Step "${step}" waited ${timeoutMs} ms for an event "${type}" and none came.`);
  }
}

/** One attempt of a step ran longer than its `timeout`. */
export class StepTimeoutError extends Error {
  override name = "StepTimeoutError";
  constructor(step: string, timeoutMs: number) {
    super(`Step "${step}" ran longer than its timeout of ${timeoutMs} ms.`);
  }
}

/** A step returned more than the engine stores. Never retried: the same code returns the same size. */
export class OutputTooLargeError extends NonRetryableError {
  override name = "OutputTooLargeError";
}

/**
 * The code of a running instance no longer calls its steps in the order they first ran (a step was
 * added, removed, renamed or reordered). The instance errors instead of mixing cached results into
 * the wrong steps.
 */
export class NonDeterminismError extends Error {
  override name = "NonDeterminismError";
}

/** Turns anything thrown into what is stored: a name and a message, never a stack. */
export function toStoredError(error: unknown): StoredError {
  if (error instanceof Error) return { name: error.name, message: error.message.slice(0, 4_000) };
  return { name: "Error", message: String(error).slice(0, 4_000) };
}

/**
 * A step was called with a config the engine cannot follow (a negative limit, a jitter outside
 * 0–1, a duration it cannot read or longer than 365 days). Thrown at the call, before anything
 * is stored or run: the same code would fail the same way on every attempt.
 */
export class InvalidStepError extends NonRetryableError {
  override name = "InvalidStepError";
}

/** A step returned a value that JSON cannot carry exactly (BigInt, a cycle, a Date, a Map, NaN…). */
export class NonJsonResultError extends NonRetryableError {
  override name = "NonJsonResultError";
}

/** A step was called inside the function of another step: the inner call would not be replayed. */
export class NestedStepError extends NonRetryableError {
  override name = "NestedStepError";
}

/**
 * A pattern the replay cannot reproduce, refused when it is used: `Promise.race` / `Promise.any`
 * over a `step.sleep` or `step.waitForEvent`.
 */
export class UnsupportedPatternError extends NonRetryableError {
  override name = "UnsupportedPatternError";
}
