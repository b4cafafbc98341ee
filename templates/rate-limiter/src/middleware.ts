/**
 * Hono middleware that rate-limits requests by a key (the client IP by default) and sets the
 * IETF RateLimit headers on every response it lets through. A refused request gets a 429
 * problem+json with `Retry-After`.
 *
 * It needs a `check` function: in another Worker, the `RateLimiterService` over a service
 * binding; in this app, {@link import("./limiter").check} with its refusals' problems attached.
 * A refused request (`{ ok: false, problem }`: bad input, an unknown policy, ...) is answered
 * with that problem, as the HTTP API would.
 *
 * @example
 * ```ts
 * app.use("/api/*", rateLimit({
 *   policies: ["api"],
 *   key: (c) => `user:${c.get("userId")}`,
 *   check: (c, request) => c.env.LIMITER.check(request),
 * }));
 * ```
 */
import type { Context, Env as HonoEnv, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ProblemError, type Problem } from "./shared";
import { rateLimitHeaders } from "./headers";
import type { PolicyReference } from "./policy";
import type { CheckRequest, QuotaResult } from "./protocol";

export interface RateLimitOptions<E extends HonoEnv> {
  /** The policies every request is checked against, by name or inline. */
  policies: PolicyReference[];
  /** The key a request counts against. Default: `ip:` + the `cf-connecting-ip` header. */
  key?: (c: Context<E>) => string | Promise<string>;
  /** Units a request costs. Default 1. */
  cost?: (c: Context<E>) => number;
  /**
   * Performs the check (RPC to RateLimiterService, or a direct call in this app): the quota, or a
   * refusal carrying the RFC 9457 problem to answer with.
   */
  check: (c: Context<E>, request: CheckRequest) => Promise<QuotaResult | { ok: false; problem: Problem }>;
}

/** A refusal's problem, thrown as itself. */
function refused({ type, title, status, detail, ...extensions }: Problem): ProblemError {
  return new ProblemError(status as ContentfulStatusCode, detail, { type, title, extensions });
}

/** The client's IP as Cloudflare sees it; one bucket for all requests without one (local tools). */
export function clientIp(c: Context): string {
  return `ip:${c.req.header("cf-connecting-ip") ?? "unknown"}`;
}

export function rateLimit<E extends HonoEnv>(options: RateLimitOptions<E>): MiddlewareHandler<E> {
  return async (c, next) => {
    const key = options.key ? await options.key(c) : clientIp(c);
    const result = await options.check(c, { key, policies: options.policies, cost: options.cost?.(c) ?? 1 });
    if ("problem" in result) throw refused(result.problem);
    const headers = rateLimitHeaders(result);
    if (!result.allowed) {
      throw new ProblemError(429, `Rate limit exceeded; retry in ${headers["Retry-After"]} s.`, {
        type: "rate-limited",
        headers,
      });
    }
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}
