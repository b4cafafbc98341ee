// Vendored from durable-patterns packages/shared/src/shards.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * Shard names: one logical key spread over N Durable Objects of the same class.
 *
 * One object serves on the order of 1,000 requests per second. A key hotter than that is spread
 * over N shard objects: a write goes to one of them, picked at random, and a read asks all N. Shard
 * `index` of `key` is the object named `<key>~<index>`, for `index` from 0 to N - 1.
 *
 * Shard names never collide with plain names as long as plain names cannot contain
 * `SHARD_SEPARATOR` (`~`): validate the names callers send so they exclude it (`objectName` in
 * `http.ts` does), and `isPlainName` holds for every one of them and for no shard name.
 *
 * How many shards a key has, and what each shard may hold, is the app's own: this module only
 * names and picks them.
 *
 * @example
 * ```ts
 * const shards = 4;
 * await env.COUNTER.getByName(shardName("page-views", pickShard(shards))).add(1);
 * const values = await Promise.all(shardNames("page-views", shards).map((name) => env.COUNTER.getByName(name).value()));
 * ```
 */

/** What separates a key from its shard index in a shard's object name. Plain names never contain it. */
export const SHARD_SEPARATOR = "~";

/** The object name of shard `index` of `key`: `<key>~<index>`. */
export function shardName(key: string, index: number): string {
  return `${key}${SHARD_SEPARATOR}${index}`;
}

/** The object names of all `shards` shards of `key`, from shard 0 up. */
export function shardNames(key: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, index) => shardName(key, index));
}

/** A uniformly random shard index from 0 to `shards` - 1. */
export function pickShard(shards: number): number {
  return Math.floor(Math.random() * shards);
}

/** Whether `name` can be a plain (unsharded) object's name: it does not contain `SHARD_SEPARATOR`. */
export function isPlainName(name: string): boolean {
  return !name.includes(SHARD_SEPARATOR);
}
