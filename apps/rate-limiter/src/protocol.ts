/**
 * What the rate limiter's HTTP routes, RPC methods and WebSocket accept and send. The Worker,
 * the Durable Object, the RPC service and the middleware all use these, so the contract is
 * written once.
 */
import { z } from "zod";
import { MAX_LIMIT, MAX_POLICIES, PolicyReference } from "./policy";
import type { AlgorithmName } from "./algorithms";

/**
 * A rate-limited key: 1 to 256 printable ASCII characters without spaces and without `~`, which
 * separates a sharded key from its shard number (so a shard is never addressed by accident).
 * IPs (also IPv6), user ids and e-mail addresses fit; prefix them by kind (`ip:`, `user:`).
 */
export const rateLimitKey = z
  .string()
  .regex(/^[\x21-\x7d]{1,256}$/, "must be 1 to 256 printable ASCII characters, without spaces or '~'");

/** The most objects one sharded key may be spread over. */
export const MAX_SHARDS = 64;

const policies = z.array(PolicyReference).min(1, "name at least one policy").max(MAX_POLICIES);
const cost = z.int().min(0).max(MAX_LIMIT);

/** Body of `POST /api/check`, and the argument of the RPC `check`. */
export const CheckBody = z.strictObject({
  key: rateLimitKey,
  policies,
  /** Units this request consumes (default 1); 0 checks without consuming. */
  cost: cost.default(1),
  /** Spread a hot key over this many objects, each with limit/shards (see README, "Hot keys"). */
  shards: z.int().min(1).max(MAX_SHARDS).default(1),
});
export type CheckRequest = z.input<typeof CheckBody>;

/** Body of `POST /api/keys/:key/refund`. */
export const RefundBody = z.strictObject({ policies, cost: cost.min(1).default(1) });
export type RefundRequest = z.input<typeof RefundBody>;

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
}

/** The answer to a check, refund or peek. */
export interface QuotaResult {
  allowed: boolean;
  policies: PolicyQuota[];
}

/** Messages the server sends over the WebSocket. */
export type ServerMessage =
  { type: "quota"; policies: PolicyQuota[] } | { type: "error"; code: string; detail: string };
