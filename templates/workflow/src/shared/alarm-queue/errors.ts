// Vendored from durable-patterns packages/shared/src/alarm-queue/errors.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/** Errors the alarm queue throws to its callers. Handler errors are never thrown: they are retried. */

/** A schedule request the queue cannot accept: unknown task name, bad time, cron or time zone. */
export class AlarmQueueError extends Error {
  override name = "AlarmQueueError";
}

/**
 * A payload whose JSON is larger than the queue's `maxPayloadBytes`. Thrown by `schedule` before
 * anything is written, so callers can answer with a 413 instead of a storage exception.
 */
export class PayloadTooLargeError extends AlarmQueueError {
  override name = "PayloadTooLargeError";

  constructor(
    /** Bytes of the payload's JSON (UTF-8). */
    readonly size: number,
    /** The queue's limit in bytes. */
    readonly limit: number,
    taskName: string,
  ) {
    super(`The payload of task "${taskName}" is ${size} bytes of JSON, over the limit of ${limit} bytes.`);
  }
}

/**
 * Recorded as the failure of an asynchronous handler that did not settle within its timeout. The
 * handler's `task.signal` is aborted with it; the attempt counts like any failure.
 */
export class TaskTimeoutError extends AlarmQueueError {
  override name = "TaskTimeoutError";

  constructor(
    taskName: string,
    readonly timeoutMs: number,
  ) {
    super(`Task "${taskName}" did not settle within ${timeoutMs} ms; its signal was aborted.`);
  }
}
