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

/** The header fields for a check's result, ready to set on a response. */
export function rateLimitHeaders(result: QuotaResult): Record<string, string> {
  if (result.policies.length === 0) return {};
  const headers: Record<string, string> = {
    "RateLimit-Policy": result.policies.map((p) => `${sfString(p.name)};q=${p.limit};w=${p.period}`).join(", "),
    RateLimit: result.policies.map((p) => `${sfString(p.name)};r=${p.remaining};t=${p.reset}`).join(", "),
  };
  if (!result.allowed) {
    headers["Retry-After"] = String(Math.max(1, ...result.policies.map((p) => p.retryAfter)));
  }
  return headers;
}
