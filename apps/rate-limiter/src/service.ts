/**
 * The rate limiter for other Workers, over a service binding (RPC): no HTTP, no token (a
 * service binding is only reachable by Workers you bind it to), typed end to end.
 *
 * @example
 * ```jsonc
 * // the other Worker's wrangler.jsonc
 * "services": [{ "binding": "LIMITER", "service": "rate-limiter", "entrypoint": "RateLimiterService" }]
 * ```
 * ```ts
 * const result = await env.LIMITER.check({ key: `ip:${ip}`, policies: ["api"] });
 * if (!result.allowed) return new Response("Too Many Requests", { status: 429, headers: result.headers });
 * ```
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { rateLimitHeaders } from "./headers";
import * as limiter from "./limiter";
import type { PolicyReference } from "./policy";
import type { CheckRequest, QuotaResult, RefundRequest } from "./protocol";

/** A result with the IETF header fields already serialized, to copy onto a response. */
export type WithHeaders<T extends QuotaResult> = T & { headers: Record<string, string> };

function withHeaders<T extends QuotaResult>(result: T): WithHeaders<T> {
  return { ...result, headers: rateLimitHeaders(result) };
}

export class RateLimiterService extends WorkerEntrypoint<Env> {
  /** Checks and (when every policy admits) consumes `cost` units. Invalid input throws. */
  async check(request: CheckRequest): Promise<WithHeaders<limiter.CheckResult>> {
    return withHeaders(await limiter.check(this.env, request));
  }

  /** Where `key` stands, consuming nothing. */
  async peek(key: string, policies?: PolicyReference[]): Promise<WithHeaders<QuotaResult>> {
    return withHeaders(await limiter.peek(this.env, key, policies));
  }

  /** Gives units back (a request that should not count after all). */
  async refund(key: string, request: RefundRequest): Promise<WithHeaders<QuotaResult>> {
    return withHeaders(await limiter.refund(this.env, key, request));
  }

  /** Forgets all state of `key`. */
  async reset(key: string, shards?: number): Promise<void> {
    await limiter.reset(this.env, key, shards);
  }
}
