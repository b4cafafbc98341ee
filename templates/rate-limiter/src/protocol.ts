/**
 * What the rate limiter's HTTP routes, RPC methods and WebSocket accept and send. The Worker,
 * the Durable Object, the RPC service and the middleware all use these, so the contract is
 * written once.
 */
import { z } from "zod";
import { MAX_LIMIT, MAX_PERIOD, MAX_POLICIES, PolicyReference, policyName, refillSeconds } from "./policy";
import { MAX_SHARDS, shardCountSchema } from "./sharding";
import type { AlgorithmName } from "./algorithms";

/**
 * A rate-limited key: 1 to 256 printable ASCII characters without spaces and without `~`, which
 * separates a sharded key from its shard number (so a shard is never addressed by accident).
 * IPs (also IPv6), user ids and e-mail addresses fit; prefix them by kind (`ip:`, `user:`).
 */
export const rateLimitKey = z
  .string()
  .regex(/^[\x21-\x7d]{1,256}$/, "must be 1 to 256 printable ASCII characters, without spaces or '~'");

const policies = z.array(PolicyReference).min(1, "name at least one policy").max(MAX_POLICIES);
const cost = z.int().min(0).max(MAX_LIMIT);

/** Body of `POST /api/check`, and the argument of the RPC `check`. */
export const CheckBody = z.strictObject({
  key: rateLimitKey,
  policies,
  /** Units this request consumes (default 1); 0 checks without consuming. */
  cost: cost.default(1),
  /**
   * Deprecated: a key's shards are set by the server's `SHARDS` var (see README, "Hot keys").
   * Accepted only when it equals the key's configured count; anything else is a 422.
   */
  shards: shardCountSchema.optional(),
});
export type CheckRequest = z.input<typeof CheckBody>;

/** Body of `POST /api/keys/:key/refund`. */
export const RefundBody = z.strictObject({
  policies,
  cost: cost.min(1).default(1),
  /** For a sharded key: the `shard.index` its check answered, so the units go back where they were taken. */
  shard: z
    .int()
    .min(0)
    .max(MAX_SHARDS - 1)
    .optional(),
});
export type RefundRequest = z.input<typeof RefundBody>;

/**
 * A key's own limit for one policy, in place of the configured one (a paying customer, a blocked
 * abuser): the policy keeps its algorithm and takes this `limit` per `period` (and `burst`, for
 * GCRA; default the limit). `limit: 0` blocks the key under that policy.
 */
export const Override = z
  .strictObject({
    limit: z.int().min(0).max(MAX_LIMIT),
    period: z.int().min(1, "must be at least 1 second").max(MAX_PERIOD, `must be at most ${MAX_PERIOD} seconds`),
    burst: z.int().min(1).max(MAX_LIMIT).optional(),
  })
  // As for a configured GCRA policy (src/policy.ts): a full bucket refills within a year, so its
  // state and its purge time stay in range.
  .refine((o) => o.burst === undefined || o.limit === 0 || refillSeconds(o) <= BigInt(MAX_PERIOD), {
    message: "a full bucket would take more than one year to refill (burst × period / limit); lower the burst",
    path: ["burst"],
  });
export type Override = z.output<typeof Override>;

/**
 * Body of `PUT /api/keys/:key/overrides` (and what GET answers as `overrides`): policy name to its
 * override, e.g. `{"api":{"limit":1000,"period":1}}`. A PUT replaces all of the key's overrides.
 */
export const OverridesBody = z
  .record(policyName, Override)
  .refine((overrides) => Object.keys(overrides).length <= MAX_POLICIES, `at most ${MAX_POLICIES} policies`);
export type Overrides = Record<string, Override>;

/** Where a policy stands for one key. Times are whole seconds, rounded up. */
export interface PolicyQuota {
  name: string;
  algorithm: AlgorithmName;
  limit: number;
  /** Seconds. */
  period: number;
  /** Units still available now. */
  remaining: number;
  /** Seconds until the policy is fully replenished. */
  reset: number;
  /** Seconds until a request of the asked cost would be admitted (of cost 1 for a peek); 0 if now. */
  retryAfter: number;
  /** Present for a policy in shadow mode: it is counted and reported, but never refuses. */
  mode?: "shadow";
  /** Present when the key's own override replaced the configured `limit` and `period`. */
  overridden?: true;
}

/** The answer to a check, refund or peek. */
export interface QuotaResult {
  allowed: boolean;
  policies: PolicyQuota[];
}

/** Messages the server sends over the WebSocket. */
export type ServerMessage =
  { type: "quota"; policies: PolicyQuota[] } | { type: "error"; code: string; detail: string };
