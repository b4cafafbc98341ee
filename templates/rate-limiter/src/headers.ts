/**
 * The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-11), as RFC 9651
 * structured fields: each policy is an Item whose value is an sf-string (its name).
 *
 *   RateLimit-Policy: "api";q=10;w=1, "hourly";q=1000;w=3600
 *   RateLimit: "api";r=9;t=1, "hourly";r=999;t=3600
 *
 * `q` is the policy's limit per window `w` (seconds); `r` the units still available; `t` the
 * seconds until the policy is fully replenished. A refused request also gets `Retry-After`,
 * the longest wait any refusing policy asks for. No `pk` (partition key) is sent: it would echo
 * the caller's key (an IP, a user id) back in every response.
 *
 * @example
 * ```ts
 * for (const [name, value] of Object.entries(rateLimitHeaders(result))) response.headers.set(name, value);
 * ```
 */
import type { QuotaResult } from "./protocol";

/** An sf-string: printable ASCII in double quotes, `"` and `\` escaped (policy names have neither). */
function sfString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The header fields for a check's result, ready to set on a response. Policies in shadow mode are
 * left out of `RateLimit-Policy`, `RateLimit` and `Retry-After` (a client must not slow down for
 * a limit that is not enforced) and reported in `RateLimit-Shadow` instead, in the same form,
 * with the boolean parameter `denied` on those that would have refused:
 * `RateLimit-Shadow: "new-api";q=5;w=10;r=0;t=8;denied`.
 */
export function rateLimitHeaders(result: QuotaResult): Record<string, string> {
  const headers: Record<string, string> = {};
  const enforced = result.policies.filter((p) => p.mode !== "shadow");
  const shadow = result.policies.filter((p) => p.mode === "shadow");
  if (enforced.length > 0) {
    headers["RateLimit-Policy"] = enforced.map((p) => `${sfString(p.name)};q=${p.limit};w=${p.period}`).join(", ");
    headers.RateLimit = enforced.map((p) => `${sfString(p.name)};r=${p.remaining};t=${p.reset}`).join(", ");
    if (!result.allowed) headers["Retry-After"] = String(Math.max(1, ...enforced.map((p) => p.retryAfter)));
  }
  if (shadow.length > 0) {
    headers["RateLimit-Shadow"] = shadow
      .map(
        (p) =>
          `${sfString(p.name)};q=${p.limit};w=${p.period};r=${p.remaining};t=${p.reset}${p.retryAfter > 0 ? ";denied" : ""}`,
      )
      .join(", ");
  }
  return headers;
}

/**
 * The legacy `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds) of the
 * enforced policy with the fewest units left, for clients written against GitHub's or Twitter's
 * headers before the IETF fields. One policy only: these headers cannot list several.
 */
export function legacyRateLimitHeaders(result: QuotaResult): Record<string, string> {
  const enforced = result.policies.filter((p) => p.mode !== "shadow");
  if (enforced.length === 0) return {};
  const tightest = enforced.reduce((a, b) => (b.remaining < a.remaining ? b : a));
  return {
    "X-RateLimit-Limit": String(tightest.limit),
    "X-RateLimit-Remaining": String(tightest.remaining),
    "X-RateLimit-Reset": String(tightest.reset),
  };
}
