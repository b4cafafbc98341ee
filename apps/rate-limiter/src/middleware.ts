/**
 * Hono middleware that rate-limits requests by a key (the client IP by default) and sets the
 * IETF RateLimit headers on every response it lets through. A refused request gets a 429
 * problem+json with `Retry-After`.
 *
 * It needs a `check` function: in this app, {@link import("./limiter").check}; in another
 * Worker, the `RateLimiterService` over a service binding.
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
import { ProblemError, problemType } from "@durable-patterns/shared";
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
  /** Performs the check (RPC to RateLimiterService, or a direct call in this app). */
  check: (c: Context<E>, request: CheckRequest) => Promise<QuotaResult>;
}

/** The client's IP as Cloudflare sees it; one bucket for all requests without one (local tools). */
export function clientIp(c: Context): string {
  return `ip:${c.req.header("cf-connecting-ip") ?? "unknown"}`;
}

export function rateLimit<E extends HonoEnv>(options: RateLimitOptions<E>): MiddlewareHandler<E> {
  return async (c, next) => {
    const key = options.key ? await options.key(c) : clientIp(c);
    const result = await options.check(c, { key, policies: options.policies, cost: options.cost?.(c) ?? 1 });
    const headers = rateLimitHeaders(result);
    if (!result.allowed) {
      throw new ProblemError(429, `Rate limit exceeded; retry in ${headers["Retry-After"]} s.`, {
        type: problemType("rate-limited"),
        headers,
      });
    }
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}
