/**
 * For callers of the rate limiter over HTTP: a typed client of its API (Hono's `hc`, routes,
 * bodies and answers checked by TypeScript against the router), and {@link readRateLimit}, which
 * reads the `RateLimit` header fields it and its middleware send (draft-ietf-httpapi-ratelimit-
 * headers-11, RFC 9651 structured fields). Parsers written for the older drafts' numeric
 * `RateLimit-Remaining` read these as NaN.
 *
 * @example
 * ```ts
 * const limiter = rateLimiterClient("https://rate-limiter.example", { token: env.RATE_LIMITER_TOKEN });
 * const res = await limiter.api.check.$post({ json: { key: `user:${id}`, policies: ["api"] } });
 * const { policies, retryAfter } = readRateLimit(res.headers);
 * // policies: [{ name: "api", limit: 10, window: 1, remaining: 9, reset: 1 }], retryAfter: undefined
 * ```
 */
import { hc } from "hono/client";
import { parseList, Token, type Item, type List } from "structured-headers";
import type { RateLimiterApi } from "./index";

export function rateLimiterClient(baseUrl: string, options: { token: string; fetch?: typeof fetch }) {
  return hc<RateLimiterApi>(baseUrl, {
    fetch: options.fetch,
    headers: { authorization: `Bearer ${options.token}` },
  });
}

/** One policy as the headers describe it; a field the server did not send is undefined. */
export interface RateLimitPolicy {
  name: string;
  /** `q`: units per window. */
  limit?: number;
  /** `w`: the window, in seconds. */
  window?: number;
  /** `r`: units still available. */
  remaining?: number;
  /** `t`: seconds until the policy is fully replenished. */
  reset?: number;
  /** Reported in `RateLimit-Shadow`: counted, never enforced. */
  shadow?: true;
  /** In shadow mode: this request would have been refused. */
  denied?: true;
}

export interface RateLimitReading {
  /** Enforced policies (`RateLimit-Policy` and `RateLimit` merged by name), then shadow ones. */
  policies: RateLimitPolicy[];
  /** `Retry-After` in seconds, on a refusal. */
  retryAfter?: number;
}

/**
 * Reads the RateLimit header fields of a response. A field that is not a valid structured list is
 * ignored (as RFC 9651 asks of a recipient), never thrown: the caller still has the status.
 */
export function readRateLimit(headers: Headers): RateLimitReading {
  const byName = new Map<string, RateLimitPolicy>();
  const policy = (name: string) => byName.get(name) ?? byName.set(name, { name }).get(name)!;
  for (const [name, params] of items(headers.get("RateLimit-Policy"))) {
    Object.assign(policy(name), { limit: integer(params.get("q")), window: integer(params.get("w")) });
  }
  for (const [name, params] of items(headers.get("RateLimit"))) {
    Object.assign(policy(name), { remaining: integer(params.get("r")), reset: integer(params.get("t")) });
  }
  const shadow = items(headers.get("RateLimit-Shadow")).map(([name, params]) => {
    const read: RateLimitPolicy = {
      name,
      limit: integer(params.get("q")),
      window: integer(params.get("w")),
      remaining: integer(params.get("r")),
      reset: integer(params.get("t")),
      shadow: true,
    };
    if (params.get("denied") === true) read.denied = true;
    return read;
  });
  const policies = [...byName.values(), ...shadow].map(withoutUndefined);
  const retryAfter = Number(headers.get("Retry-After") ?? Number.NaN);
  return Number.isInteger(retryAfter) && retryAfter >= 0 ? { policies, retryAfter } : { policies };
}

/** The list's items as (name, parameters); a policy's name is an sf-string or a token. */
function items(field: string | null): [string, Item[1]][] {
  if (!field) return [];
  let list: List;
  try {
    list = parseList(field);
  } catch {
    return [];
  }
  return list
    .filter((member): member is Item => !Array.isArray(member[0]))
    .filter(([value]) => typeof value === "string" || value instanceof Token)
    .map(([value, params]) => [String(value), params]);
}

function integer(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

function withoutUndefined(policy: RateLimitPolicy): RateLimitPolicy {
  return Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined)) as RateLimitPolicy;
}
