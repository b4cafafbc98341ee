/**
 * Hono middleware that rate-limits requests by a key (the client IP by default, an IPv6 client by
 * its /64) and sets the IETF RateLimit headers on every response it lets through. A refused
 * request gets a 429 problem+json with `Retry-After`.
 *
 * It needs a `check` function: in another Worker, the `RateLimiterService` over a service
 * binding; in this app, {@link import("./limiter").check} with its refusals' problems attached.
 * A refused request (`{ ok: false, problem }`: bad input, an unknown policy, ...) is answered
 * with that problem, as the HTTP API would.
 *
 * Options beyond that: `skip` (requests not counted at all), `timeout` and `onError` (what a slow
 * or failing limiter decides; `"deny"` by default), `cache` (denials remembered in this isolate,
 * src/denial-cache.ts), `refundOn` with `refund` (responses that should not count, such as 5xx,
 * give their units back) and `legacyHeaders` (`X-RateLimit-*` beside the IETF fields).
 *
 * @example
 * ```ts
 * app.use("/api/*", rateLimit({
 *   policies: ["api"],
 *   key: (c) => `user:${c.get("userId")}`,
 *   check: (c, request) => c.env.LIMITER.check(request),
 *   skip: (c) => c.req.path === "/api/health",
 *   timeout: 50,
 *   onError: "allow",
 *   cache: true,
 *   refundOn: (res) => res.status >= 500,
 *   refund: (c, key, request) => c.env.LIMITER.refund(key, request),
 *   legacyHeaders: true,
 * }));
 * ```
 */
import type { Context, Env as HonoEnv, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { logLine, ProblemError, type Problem } from "./shared";
import { DenialCache } from "./denial-cache";
import { guarded, keyPrefix, type FailureOptions } from "./failure";
import { legacyRateLimitHeaders, rateLimitHeaders } from "./headers";
import type { PolicyReference } from "./policy";
import type { CheckRequest, QuotaResult, RefundRequest } from "./protocol";

/** What `check` answers: the quota (with its shard, for a sharded key), or a refusal's problem. */
export type CheckAnswer = (QuotaResult & { shard?: { index: number } }) | { ok: false; problem: Problem };

export interface RateLimitOptions<E extends HonoEnv> extends FailureOptions {
  /** The policies every request is checked against, by name or inline. */
  policies: PolicyReference[];
  /**
   * The key a request counts against. Default {@link clientKey}: `ip:` + the `cf-connecting-ip`
   * header, an IPv6 address grouped by its /64.
   */
  key?: (c: Context<E>) => string | Promise<string>;
  /** Units a request costs. Default 1. */
  cost?: (c: Context<E>) => number;
  /**
   * Performs the check (RPC to RateLimiterService, or a direct call in this app): the quota, or a
   * refusal carrying the RFC 9457 problem to answer with.
   */
  check: (c: Context<E>, request: CheckRequest) => Promise<CheckAnswer>;
  /** Requests for which this returns true are neither checked nor counted, and get no headers. */
  skip?: (c: Context<E>) => boolean | Promise<boolean>;
  /**
   * Remember denials in this isolate and answer them without calling `check` until they could
   * be admitted (`true`: a cache of its own per middleware; or one to share). Sharded keys'
   * denials are never remembered here (the next check may go to another shard).
   */
  cache?: boolean | DenialCache;
  /** Responses for which this returns true give their units back (e.g. `(res) => res.status >= 500`). Needs `refund`. */
  refundOn?: (res: Response) => boolean;
  /** Gives units back: `(c, key, request) => c.env.LIMITER.refund(key, request)`. */
  refund?: (c: Context<E>, key: string, request: RefundRequest) => Promise<unknown>;
  /** Also send `X-RateLimit-Limit`, `-Remaining` and `-Reset` (of the tightest enforced policy). */
  legacyHeaders?: boolean;
}

/** A refusal's problem, thrown as itself. */
function refused({ type, title, status, detail, ...extensions }: Problem): ProblemError {
  return new ProblemError(status as ContentfulStatusCode, detail, { type, title, extensions });
}

/**
 * The client's key: `ip:` and its IP as Cloudflare sees it, an IPv6 address as its /64 (one
 * host is usually given a whole /64 and can rotate through it: `ip:2001:db8:1:2::/64`). One
 * bucket for all requests without one (local tools).
 */
export function clientKey(c: Context): string {
  return ipKey(c.req.header("cf-connecting-ip"));
}

/** The key of a client IP: IPv4 as it is, IPv6 as its /64 (an IPv4-mapped address as its IPv4). */
export function ipKey(ip: string | undefined): string {
  if (!ip) return "ip:unknown";
  if (!ip.includes(":")) return `ip:${ip}`;
  const groups = ipv6Groups(ip);
  if (!groups) return `ip:${ip}`;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return `ip:${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  return `ip:${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (with `::`, a zone or an IPv4 tail), or null. */
function ipv6Groups(ip: string): number[] | null {
  let address = ip.split("%")[0]!.toLowerCase();
  const v4 = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4) {
    const octets = v4.slice(2).map(Number);
    if (octets.some((o) => o > 255)) return null;
    address = `${v4[1]}${((octets[0]! << 8) | octets[1]!).toString(16)}:${((octets[2]! << 8) | octets[3]!).toString(16)}`;
  }
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const part = (text: string | undefined) => (text ? text.split(":") : []);
  const head = part(halves[0]);
  const tail = part(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.map((g) => parseInt(g, 16));
}

export function rateLimit<E extends HonoEnv>(options: RateLimitOptions<E>): MiddlewareHandler<E> {
  if (options.refundOn && !options.refund)
    throw new Error("rateLimit: refundOn needs refund, the call that gives units back");
  const cache = options.cache === true ? new DenialCache() : options.cache || undefined;
  return async (c, next) => {
    if (options.skip && (await options.skip(c))) return next();
    const key = options.key ? await options.key(c) : clientKey(c);
    const cost = options.cost?.(c) ?? 1;
    let result: (QuotaResult & { shard?: { index: number } }) | null = cache?.get(key, options.policies, cost) ?? null;
    if (!result) {
      const ticket = cache?.ticket();
      const answer = await guarded(() => options.check(c, { key, policies: options.policies, cost }), options, key);
      if (!answer.ok) {
        // The limiter could not answer: onError decided, the header says why (no RateLimit fields).
        if (!answer.allowed) {
          throw new ProblemError(503, `The rate limiter did not answer (${answer.failure}); the request is refused.`, {
            type: "rate-limiter-unavailable",
            headers: answer.headers,
          });
        }
        await next();
        for (const [name, value] of Object.entries(answer.headers)) c.res.headers.set(name, value);
        return;
      }
      if ("problem" in answer.value) throw refused(answer.value.problem);
      result = answer.value;
      if (cache && ticket && !result.shard) cache.remember(key, options.policies, cost, result, ticket);
    }
    const headers = { ...rateLimitHeaders(result), ...(options.legacyHeaders ? legacyRateLimitHeaders(result) : {}) };
    if (!result.allowed) {
      throw new ProblemError(429, `Rate limit exceeded; retry in ${headers["Retry-After"]} s.`, {
        type: "rate-limited",
        headers,
      });
    }
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
    if (cost > 0 && options.refund && options.refundOn?.(c.res)) {
      const request: RefundRequest = { policies: options.policies, cost };
      if (result.shard) request.shard = result.shard.index;
      await refundQuietly(() => options.refund!(c, key, request), key, cache);
    }
  };
}

/**
 * Gives the units back, forgetting the key's remembered denials around it. A refund that fails
 * is logged and does not change the response: the request already ran.
 */
async function refundQuietly(refund: () => Promise<unknown>, key: string, cache: DenialCache | undefined) {
  let error: unknown = null;
  try {
    const answer = await (cache ? cache.forgetAround([key], refund) : refund());
    // The RPC service answers a refusal as a value: `{ ok: false, reason, ... }`.
    if ((answer as { ok?: unknown } | null)?.ok === false) error = (answer as { reason?: unknown }).reason;
  } catch (thrown) {
    error = thrown;
  }
  if (error === null) return;
  logLine("error", "rate limit refund failed", {
    app: "rate-limiter",
    keyPrefix: keyPrefix(key),
    error: String(error),
  });
}
