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
import { ProblemError, type Problem } from "@durable-patterns/shared";
import { rateLimitHeaders } from "./headers";
import * as limiter from "./limiter";
import type { PolicyReference } from "./policy";
import type { CheckRequest, QuotaResult, RefundRequest } from "./protocol";

/** A result with the IETF header fields already serialized, to copy onto a response. */
export type WithHeaders<T extends QuotaResult> = T & { headers: Record<string, string> };

function withHeaders<T extends QuotaResult>(result: T): WithHeaders<T> {
  return { ...result, headers: rateLimitHeaders(result) };
}

/**
 * What `reset` answers: how many shards were reset, or the refusal, with the same RFC 9457
 * problem the HTTP API would send. Nothing is reset when it is refused.
 */
export type ResetResult = { ok: true; shards: number } | { ok: false; problem: Problem };

export class RateLimiterService extends WorkerEntrypoint<Env> {
  /** Checks and (when every policy admits) consumes `cost` units. Invalid input throws. */
  async check(request: CheckRequest): Promise<WithHeaders<limiter.CheckResult>> {
    return withHeaders(await limiter.check(this.env, request));
  }

  /** Where `key` stands, consuming nothing. */
  async peek(key: string, policies?: PolicyReference[]): Promise<WithHeaders<QuotaResult>> {
    return withHeaders(await limiter.peek(this.env, key, policies));
  }

  /**
   * Gives units back (a request that should not count after all). For a sharded key, pass the
   * `shard.index` the check answered as `request.shard`.
   */
  async refund(key: string, request: RefundRequest): Promise<WithHeaders<limiter.CheckResult>> {
    return withHeaders(await limiter.refund(this.env, key, request));
  }

  /**
   * Forgets all state of `key`, on every shard the server's `SHARDS` setting gives it. `shards`
   * is optional and, when given, must be that count (an integer from 1 to 64). Invalid input is
   * refused as a value, `{ ok: false, problem }`, not thrown.
   */
  async reset(key: string, shards?: number): Promise<ResetResult> {
    try {
      return { ok: true, ...(await limiter.reset(this.env, key, shards)) };
    } catch (error) {
      if (error instanceof ProblemError) return { ok: false, problem: error.problem };
      throw error;
    }
  }
}
