/**
 * Sharded keys: one hot key spread over N RateLimiter objects.
 *
 * One object serves on the order of 1,000 requests per second. A key hotter than that (one
 * API-wide limit, say) can be split: each check goes to one of N shard objects at random, each
 * enforcing `floor(limit / N)` (and `floor(burst / N)`). The shards' quotas add up to at most the
 * limit, so the whole never over-admits; but a request can be refused by its shard while another
 * shard still has room, so under traffic near the limit it refuses early. Under traffic well
 * above the limit every shard fills and exactly N * floor(limit / N) are admitted.
 *
 * Which keys are sharded, and over how many objects, is server configuration: the `SHARDS` var,
 * never the request. A key whose shard count a caller could choose would live in different
 * objects for different callers, each with its own quota. Shard objects are named
 * `<key>~<index>` by the shared `shardName`; `~` is not allowed in keys, so they never collide.
 *
 * @example
 * ```ts
 * // wrangler.jsonc: "vars": { "SHARDS": { "api:all": 16, "tenant:big-co:*": 4 } }
 * shardCount(env.SHARDS, "api:all"); // 16
 * shardCount(env.SHARDS, "tenant:big-co:eu"); // 4 (the longest matching prefix)
 * shardCount(env.SHARDS, "user:42"); // 1
 * ```
 */
import { z } from "zod";
import { capacity, parseConfigVar, type Policy } from "./policy";
import type { PolicyQuota } from "./protocol";

/** The most objects one sharded key may be spread over. */
export const MAX_SHARDS = 64;

/** A shard count, as the configuration and (deprecated) requests write it. */
export const shardCountSchema = z.int().min(1).max(MAX_SHARDS);

/** `SHARDS` is wrong: the message lists every problem, for the deploy log. */
export class ShardConfigError extends Error {
  override name = "ShardConfigError";
}

/** A key, or a key prefix ending in `*`: printable ASCII without spaces or `~`, like keys. */
const keyPattern = z
  .string()
  .regex(/^[\x21-\x7d]{1,257}$/, "must be a key, or a key prefix ending in '*' (printable ASCII, no spaces or '~')");

const ShardsConfig = z.record(keyPattern, shardCountSchema);

interface ShardTable {
  exact: ReadonlyMap<string, number>;
  /** Longest first, so the most specific prefix wins. */
  prefixes: readonly (readonly [string, number])[];
}

const parsed = new WeakMap<object, ShardTable>();

function table(config: unknown): ShardTable {
  return parseConfigVar("SHARDS", config, ShardsConfig, ShardConfigError, parsed, (data) => {
    const entries = Object.entries(data);
    return {
      exact: new Map(entries.filter(([pattern]) => !pattern.endsWith("*"))),
      prefixes: entries
        .filter(([pattern]) => pattern.endsWith("*"))
        .map(([pattern, count]) => [pattern.slice(0, -1), count] as const)
        .sort(([a], [b]) => b.length - a.length),
    };
  });
}

/**
 * How many objects `key` is spread over: its entry in the `SHARDS` var (an object of key, or key
 * prefix ending in `*`, to a count from 1 to 64; or the same as a JSON string), the longest
 * matching prefix when there is no exact entry, otherwise 1. Validated and indexed once per isolate.
 *
 * @throws {ShardConfigError} naming each bad entry.
 */
export function shardCount(config: unknown, key: string): number {
  const shards = table(config);
  const exact = shards.exact.get(key);
  if (exact !== undefined) return exact;
  return shards.prefixes.find(([prefix]) => key.startsWith(prefix))?.[1] ?? 1;
}

/** The policy one shard enforces, or `null` when `shards` leaves it less than one unit. */
export function shardPolicy(policy: Policy, shards: number): Policy | null {
  if (shards === 1) return policy;
  const limit = Math.floor(policy.limit / shards);
  const burst = policy.burst === undefined ? undefined : Math.floor(policy.burst / shards);
  if (limit < 1 || burst === 0) return null;
  return burst === undefined ? { ...policy, limit } : { ...policy, limit, burst };
}

/** One policy of one shard: the policy the shard enforces and where it stands. */
export interface ShardStanding {
  policy: Policy;
  quota: PolicyQuota;
}

/**
 * Where a sharded key stands under one policy, from its shards' standings (`null` for a shard
 * with no state for it, which is full): `limit` and `remaining` add up, `reset` is the latest
 * (full again once every shard is), `retryAfter` the earliest (a unit is free somewhere: a check
 * lands on a random shard, so it may still be refused early).
 */
export function mergeShards(standings: readonly (ShardStanding | null)[]): PolicyQuota | null {
  const known = standings.find((standing) => standing !== null);
  if (!known) return null;
  const quotas = standings.map(
    (standing) =>
      standing?.quota ?? {
        ...known.quota,
        limit: known.policy.limit,
        remaining: capacity(known.policy),
        reset: 0,
        retryAfter: 0,
      },
  );
  return {
    name: known.quota.name,
    algorithm: known.quota.algorithm,
    limit: quotas.reduce((sum, quota) => sum + quota.limit, 0),
    period: known.quota.period,
    remaining: quotas.reduce((sum, quota) => sum + quota.remaining, 0),
    reset: Math.max(...quotas.map((quota) => quota.reset)),
    retryAfter: Math.min(...quotas.map((quota) => quota.retryAfter)),
  };
}
