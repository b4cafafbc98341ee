/**
 * Durations as workflows write them: milliseconds, or a number and a unit ("30 seconds", "1 day").
 * Pure, so step delays and timeouts are checked before anything is stored.
 */

const UNITS: Record<string, number | undefined> = {
  millisecond: 1,
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

type Unit = "millisecond" | "second" | "minute" | "hour" | "day" | "week";

/** A unit name, singular or plural. */
export type DurationUnit = Unit | `${Unit}s`;

/** Milliseconds, or a string like `"10 seconds"`. */
export type Duration = number | `${number} ${DurationUnit}`;

/**
 * Milliseconds in `duration`.
 *
 * @example
 * ```ts
 * toMilliseconds("2 minutes"); // 120000
 * toMilliseconds(1500); // 1500
 * ```
 * @throws {RangeError} for a negative, non-finite or unparseable duration.
 */
export function toMilliseconds(duration: Duration): number {
  let ms: number;
  if (typeof duration === "number") {
    ms = duration;
  } else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+?)s?\s*$/i.exec(duration);
    const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
    if (!match || unit === undefined) throw new RangeError(`"${duration}" is not a duration like "30 seconds".`);
    ms = Number(match[1]) * unit;
  }
  if (!Number.isFinite(ms) || ms < 0)
    throw new RangeError(`A duration must be a finite number of ms >= 0, got ${duration}.`);
  return Math.round(ms);
}

/** The longest sleep, event wait or retry delay: 365 days, Cloudflare Workflows' limit. */
export const MAX_DURATION_MS = 365 * 86_400_000;

/**
 * Milliseconds in `duration`, at most {@link MAX_DURATION_MS}; `what` names the call in the error.
 *
 * @throws {RangeError} for an unreadable, negative or non-finite duration, or one over 365 days.
 */
export function boundedMilliseconds(duration: Duration, what: string): number {
  let ms: number;
  try {
    ms = toMilliseconds(duration);
  } catch (error) {
    throw new RangeError(`${what}: ${(error as Error).message}`, { cause: error });
  }
  if (ms > MAX_DURATION_MS) {
    throw new RangeError(`${what}: ${JSON.stringify(duration)} is longer than the limit of 365 days.`);
  }
  return ms;
}
