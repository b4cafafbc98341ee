/**
 * What a caller does when the limiter cannot answer: the call to the object (or to the service)
 * took longer than `timeout` ms, or it threw. `onError: "deny"` (the default) refuses the
 * request, `"allow"` lets it through: a limiter that protects a costly backend should fail
 * closed, one that only shapes traffic of a service that must stay up may fail open.
 *
 * Either way the decision is one JSON line at `error` level (`message: "rate limit unavailable"`,
 * with `failure`, `onError`, `ms` and the key's prefix, never the whole key), and the answer has
 * no `RateLimit` fields but {@link UNAVAILABLE_HEADER}, whose value says why: `timeout` or `error`.
 *
 * @example
 * ```ts
 * const answer = await guarded(() => env.LIMITER.check(request), { timeout: 50, onError: "allow" }, request.key);
 * if (!answer.ok) return answer.allowed ? next() : new Response(null, { status: 503, headers: answer.headers });
 * ```
 */
import { logLine, withDeadline } from "./shared";

/** The header that replaces the `RateLimit` fields when the limiter could not answer. */
export const UNAVAILABLE_HEADER = "RateLimit-Unavailable";

/** Let a request through (`allow`) or refuse it (`deny`, the default) when the limiter cannot answer. */
export type OnError = "allow" | "deny";

export interface FailureOptions {
  /** Milliseconds to wait for the answer; none by default (the platform's own limits apply). */
  timeout?: number;
  /** What a timeout or a failure decides. Default `"deny"`. */
  onError?: OnError;
}

/** Why the limiter could not answer. */
export type Failure = "timeout" | "error";

/** The limiter's answer, or the decision taken without it. */
export type Guarded<T> =
  { ok: true; value: T } | { ok: false; failure: Failure; allowed: boolean; headers: Record<string, string> };

class LimiterTimeout extends Error {
  override name = "LimiterTimeout";
}

/** Runs `call` under `options`; a timeout or a throw becomes the `onError` decision, logged. */
export async function guarded<T>(call: () => Promise<T>, options: FailureOptions, key: string): Promise<Guarded<T>> {
  const started = Date.now();
  try {
    const work = call();
    const value =
      options.timeout === undefined
        ? await work
        : await withDeadline(work, options.timeout, new AbortController(), () => new LimiterTimeout());
    return { ok: true, value };
  } catch (error) {
    const failure: Failure = error instanceof LimiterTimeout ? "timeout" : "error";
    const onError = options.onError ?? "deny";
    logLine("error", "rate limit unavailable", {
      app: "rate-limiter",
      failure,
      onError,
      decision: onError === "allow" ? "allowed" : "denied",
      keyPrefix: keyPrefix(key),
      ms: Date.now() - started,
      error: failure === "error" ? String(error) : null,
    });
    return { ok: false, failure, allowed: onError === "allow", headers: { [UNAVAILABLE_HEADER]: failure } };
  }
}

/** The key's prefix: up to and including its first ':', or "" (never the whole key). */
export function keyPrefix(key: string): string {
  const colon = key.indexOf(":");
  return colon === -1 ? "" : key.slice(0, colon + 1);
}
