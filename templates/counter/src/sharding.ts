/**
 * Sharded counters: one logical counter spread over N Counter objects.
 *
 * One Durable Object serves on the order of 1,000 requests per second. A counter hotter than
 * that (page views, likes) spreads its increments over N shard objects chosen at random and
 * reads the sum of all N. Writes scale with N; a read costs N RPCs, made in parallel.
 *
 * Shard objects are ordinary `Counter` objects named `<name>~<index>`, by the shared `shardName`
 * and `shardNames`. `~` is not allowed in public names, so a shard can never be addressed as a
 * plain counter by accident. This file holds what is the counter's own: how many shards, and how
 * much each may hold.
 */
import { MAX_VALUE } from "./protocol";

/** The most shards a counter may be configured with. */
export const MAX_SHARDS = 256;

/** Parses `COUNTER_SHARDS`; a deploy with a bad value fails loudly instead of mis-summing. */
export function shardCount(raw: string | undefined): number {
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new Error(`COUNTER_SHARDS must be an integer from 1 to ${MAX_SHARDS}, got ${JSON.stringify(raw)}`);
  }
  return count;
}

/**
 * Each shard is bounded to ±floor(MAX_VALUE / shards) so the sum of all shards is always a safe
 * integer: a sharded counter's total range is the same as a plain counter's, never wider.
 */
export function shardLimit(shards: number): number {
  return Math.floor(MAX_VALUE / shards);
}
