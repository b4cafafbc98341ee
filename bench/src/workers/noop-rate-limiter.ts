import { DurableObject } from "cloudflare:workers";
import type { Policy } from "../../../apps/rate-limiter/src/policy";
import type { QuotaResult } from "../../../apps/rate-limiter/src/protocol";

/**
 * The rate limiter's Worker side alone: an object with the RateLimiter's `check` that stores
 * nothing and answers "allowed" for every policy it is given, so the Worker builds the same
 * response (body and RateLimit headers, one entry per policy) as it does for the real object.
 */
export class NoopRateLimiter extends DurableObject {
  check(policies: Policy[], cost: number): QuotaResult {
    return {
      allowed: true,
      policies: policies.map((policy) => ({
        name: policy.name,
        algorithm: policy.algorithm,
        limit: policy.limit,
        period: policy.period,
        remaining: policy.limit - cost,
        reset: 0,
        retryAfter: 0,
      })),
    };
  }
}
