/**
 * Sharded keys: one hot key spread over N RateLimiter objects.
 *
 * One object serves on the order of 1,000 requests per second. A key hotter than that (one
 * API-wide limit, say) can be split: each request goes to one of N shard objects at random,
 * each enforcing `floor(limit / N)` (and `floor(burst / N)`). The shards' quotas add up to at
 * most the limit, so the whole never over-admits; but a request can be refused by its shard
 * while another shard still has room, so under traffic near the limit it refuses early. Under
 * traffic well above the limit every shard fills and exactly N * floor(limit / N) are admitted.
 *
 * Shard objects are named `<key>~<index>`; `~` is not allowed in keys, so they never collide.
 */
import type { Policy } from "./policy";

/** The object name of shard `index` of `key`. */
export function shardName(key: string, index: number): string {
  return `${key}~${index}`;
}

/** A uniformly random shard index. */
export function pickShard(shards: number): number {
  return Math.floor(Math.random() * shards);
}

/** The policy one shard enforces, or `null` when `shards` leaves it less than one unit. */
export function shardPolicy(policy: Policy, shards: number): Policy | null {
  if (shards === 1) return policy;
  const limit = Math.floor(policy.limit / shards);
  const burst = policy.burst === undefined ? undefined : Math.floor(policy.burst / shards);
  if (limit < 1 || burst === 0) return null;
  return burst === undefined ? { ...policy, limit } : { ...policy, limit, burst };
}
