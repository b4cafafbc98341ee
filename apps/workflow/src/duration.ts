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
