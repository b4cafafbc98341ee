/**
 * The rate limiter for other Workers, over a service binding (RPC): no HTTP, no token (a
 * service binding is only reachable by Workers you bind it to), typed end to end.
 *
 * No method throws for a request it refuses: each answers `{ ok: true, ... }` or a refusal,
 * `{ ok: false, reason, detail, ..., problem }`, with `reason` to switch on (see
 * {@link Refusal}) and `problem` the RFC 9457 body the HTTP API would send.
 *
 * @example
 * ```jsonc
 * // the other Worker's wrangler.jsonc
 * "services": [{ "binding": "LIMITER", "service": "rate-limiter", "entrypoint": "RateLimiterService" }]
 * ```
 * ```ts
 * const result = await env.LIMITER.check({ key: `ip:${ip}`, policies: ["api"] });
 * if (!result.ok) return Response.json(result.problem, { status: result.problem.status }); // e.g. "unknown_policy"
 * if (!result.allowed) return new Response("Too Many Requests", { status: 429, headers: result.headers });
 *
 * // with a deadline, failing open, and this isolate's remembered denials:
 * const fast = await env.LIMITER.check(request, { timeout: 50, onError: "allow", cache: true });
 * // fast.unavailable === "timeout" when the object took longer: allowed, no RateLimit fields
 * ```
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { guarded } from "./failure";
import { rateLimitHeaders } from "./headers";
import * as limiter from "./limiter";
import type {
  Answer,
  CheckAnswer,
  CheckResult,
  CheckRpcOptions,
  RateLimiterRpc,
  Refusal,
  RefusalWithProblem,
  ResetResult,
  ServiceAnswer,
  WithHeaders,
} from "./rpc";
import type { PolicyReference } from "./policy";
import { withProblem } from "./problems";
import type { CheckRequest, Overrides, QuotaResult, RefundRequest } from "./protocol";

export type {
  CheckAnswer,
  CheckRpcOptions as CheckOptions,
  Refusal,
  RefusalWithProblem,
  ResetResult,
  ServiceAnswer,
  WithHeaders,
};

function withHeaders<T extends QuotaResult>(answer: Answer<T>): ServiceAnswer<WithHeaders<T>> {
  if (!answer.ok) return withProblem(answer);
  return { ...answer, headers: rateLimitHeaders(answer) };
}

export class RateLimiterService extends WorkerEntrypoint<Env> implements RateLimiterRpc {
  /**
   * Checks and (when every policy admits) consumes `cost` units. Invalid input is a refusal.
   * `options.timeout` (ms) bounds the wait for the key's object, and `options.onError`
   * (`"deny"` by default, or `"allow"`) decides when it passes or the call fails; `options.cache`
   * answers denials this isolate remembers without asking the object (src/denial-cache.ts).
   */
  async check(request: CheckRequest, options: CheckRpcOptions = {}): Promise<CheckAnswer> {
    const key = typeof request?.key === "string" ? request.key : "";
    const answer = await guarded(() => limiter.check(this.env, request, options), options, key);
    if (answer.ok) return withHeaders(answer.value);
    return { ok: true, allowed: answer.allowed, policies: [], unavailable: answer.failure, headers: answer.headers };
  }

  /** Where `key` stands, consuming nothing. */
  async peek(key: string, policies?: PolicyReference[]): Promise<ServiceAnswer<WithHeaders<QuotaResult>>> {
    return withHeaders(await limiter.peek(this.env, key, policies));
  }

  /**
   * Gives units back (a request that should not count after all). For a sharded key, pass the
   * `shard.index` the check answered as `request.shard`.
   */
  async refund(key: string, request: RefundRequest): Promise<ServiceAnswer<WithHeaders<CheckResult>>> {
    return withHeaders(await limiter.refund(this.env, key, request));
  }

  /**
   * Forgets all state of `key`, on every shard the server's `SHARDS` setting gives it. `shards`
   * is optional and, when given, must be that count (an integer from 1 to 64).
   */
  async reset(key: string, shards?: number): Promise<ResetResult> {
    return withProblem(await limiter.reset(this.env, key, shards));
  }

  /** The key's overrides, policy name to `{ limit, period, burst? }` (empty when it has none). */
  async getOverrides(key: string): Promise<ServiceAnswer<{ overrides: Overrides }>> {
    return withProblem(await limiter.getOverrides(this.env, key));
  }

  /**
   * Replaces the key's overrides: checks of those policies use the override's limit and period
   * (`limit: 0` blocks). A sharded key takes none (`sharded_key`).
   */
  async setOverrides(key: string, overrides: Overrides): Promise<ServiceAnswer<{ overrides: Overrides }>> {
    return withProblem(await limiter.setOverrides(this.env, key, overrides));
  }

  /** Removes the key's overrides. */
  async deleteOverrides(key: string): Promise<ServiceAnswer<object>> {
    return withProblem(await limiter.deleteOverrides(this.env, key));
  }
}
