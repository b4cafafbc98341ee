// Vendored from durable-patterns packages/shared/src/alarm-queue/timing.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
import { Cron } from "croner";
import { AlarmQueueError } from "./errors";

/**
 * When a task is due: pure functions over epoch milliseconds, so they are tested and reasoned about
 * without a Durable Object.
 */

/** Exponential backoff settings. The n-th retry waits a random time in `[1, min(maxMs, baseMs * 2^(n-1))]`. */
export interface Backoff {
  /** The ceiling of the first retry's delay. Default 1,000 ms. */
  baseMs: number;
  /** The largest ceiling any retry gets. Default one hour. */
  maxMs: number;
}

/**
 * Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): the delay is uniform between
 * 1 ms and the exponential ceiling, so tasks that failed together do not retry together.
 * `failures` counts failures so far, 1 for the first retry.
 */
export function backoffDelay(failures: number, backoff: Backoff, random: () => number): number {
  const ceiling = backoffCeiling(failures, backoff);
  return Math.max(1, Math.ceil(random() * ceiling));
}

/** The largest delay {@link backoffDelay} can return after `failures` failures. */
export function backoffCeiling(failures: number, backoff: Backoff): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, failures - 1));
}

// Parsing a pattern is the expensive part of croner; the same few patterns recur in one object.
// Bounded, because a Worker that validates user-supplied patterns with nextCronTime() would
// otherwise grow this map for the life of its isolate.
const crons = new Map<string, Cron>();
const MAX_CACHED_CRONS = 64;

/** Checks an IANA time zone name, so a typo fails at schedule time rather than at the next run. */
export function checkTimeZone(timezone: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw new AlarmQueueError(`"${timezone}" is not an IANA time zone (for example "Europe/Berlin").`);
  }
}

/**
 * The first occurrence of `pattern` strictly after `after`, in `timezone` (UTC when absent), or
 * `null` when the pattern has no future occurrence. Local times that DST skips run at the first
 * valid time after the gap; a local time that occurs twice runs once, at its first occurrence
 * (croner's fixed-time rule, the same as Vixie cron).
 */
export function nextCronTime(pattern: string, timezone: string | null, after: number): number | null {
  const cacheKey = `${timezone ?? ""} ${pattern}`;
  let cron = crons.get(cacheKey);
  if (!cron) {
    if (timezone !== null) checkTimeZone(timezone);
    try {
      // No callback: croner then only computes times and never starts a timer.
      cron = new Cron(pattern, { timezone: timezone ?? "Etc/UTC", mode: "5-or-6-parts" });
    } catch (error) {
      throw new AlarmQueueError(`"${pattern}" is not a cron pattern: ${(error as Error).message}`);
    }
    if (crons.size >= MAX_CACHED_CRONS) crons.delete(crons.keys().next().value!);
    crons.set(cacheKey, cron);
  }
  return cron.nextRun(new Date(after))?.getTime() ?? null;
}
