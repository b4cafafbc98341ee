/**
 * The Worker side of every operation, shared by the HTTP routes, the RPC service and the
 * middleware: validate the request, resolve its policies, refuse what can never succeed, and
 * only then call the key's object.
 *
 * Nothing here throws for a request it refuses: every operation answers `{ ok: true, ... }` or a
 * {@link Refusal}, a value its caller can switch on by `reason`. Only the Hono layer turns a
 * refusal into a problem+json response (src/problems.ts).
 */
import { describeIssues, issuesOf, pickShard, shardName, shardNames } from "./shared";
import { z } from "zod";
import { DenialCache } from "./denial-cache";
import type { Answer, CheckOptions, CheckResult, Refusal } from "./rpc";

export type { Answer, CheckOptions, CheckResult, Refusal, RefusalReason } from "./rpc";
import {
  PolicyReferenceError,
  capacity,
  enforced,
  namedPolicies,
  resolvePolicies,
  type Policy,
  type PolicyReference,
} from "./policy";
import {
  CheckBody,
  OverridesBody,
  RefundBody,
  rateLimitKey,
  type CheckRequest,
  type Overrides,
  type QuotaResult,
  type RefundRequest,
} from "./protocol";
import { mergeShards, shardCount, shardCountSchema, shardPolicy } from "./sharding";

/** A value a helper worked out, or the refusal that stops the operation. */
type Checked<T> = { ok: true; value: T } | Refusal;

/** Parses with `schema`; invalid input is the `invalid_request` refusal, listing every field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): Checked<z.output<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const errors = issuesOf(result.error);
  return {
    ok: false,
    reason: "invalid_request",
    detail: `Invalid request: ${describeIssues(errors)}`,
    errors,
  };
}

/** Resolves references against the `POLICIES` var; an unknown name is the `unknown_policy` refusal. */
export function policiesFor(env: Env, references: readonly PolicyReference[]): Checked<Policy[]> {
  try {
    return { ok: true, value: resolvePolicies(references, namedPolicies(env.POLICIES)) };
  } catch (error) {
    if (!(error instanceof PolicyReferenceError)) throw error;
    return { ok: false, reason: "unknown_policy", detail: error.message };
  }
}

/**
 * A cost no policy could ever admit is refused up front: it is a bug, not a reason to wait. A
 * policy in shadow mode never refuses: it reports such a cost as a denial it did not enforce.
 */
function costRefusal(policies: Policy[], cost: number): Refusal | null {
  for (const policy of policies) {
    if (enforced(policy) && cost > capacity(policy)) {
      return {
        ok: false,
        reason: "cost_exceeds_limit",
        detail: `A cost of ${cost} can never be admitted by "${policy.name}", which grants at most ${capacity(policy)} at once.`,
        policy: policy.name,
        capacity: capacity(policy),
      };
    }
  }
  return null;
}

/** The stub of the RateLimiter object named `name` (a key, or one shard of it). */
export function objectFor(env: Env, name: string) {
  return env.RATE_LIMITER.getByName(name);
}

/** How many objects `key` is spread over: the `SHARDS` var decides, never the request. */
export function shardsOf(env: Env, key: string): number {
  return shardCount(env.SHARDS, key);
}

/**
 * A request that still sends a shard count (the API before `SHARDS`) is understood when it names
 * the key's configured count, and refused otherwise: a caller that believes in another split
 * would get limits it did not expect.
 */
function askedRefusal(key: string, shards: number, asked: number | undefined): Refusal | null {
  if (asked === undefined || asked === shards) return null;
  const where =
    shards === 1 ? `Key "${key}" is not sharded` : `Key "${key}" is spread over ${shards} shards by the server`;
  return {
    ok: false,
    reason: "shard_count_mismatch",
    detail: `${where}: the server's SHARDS setting decides a key's shards; send no "shards" (or ${shards}).`,
    shards,
  };
}

/** The policies one shard of a key spread over `shards` objects enforces. */
function perShard(policies: Policy[], shards: number): Checked<Policy[]> {
  const split: Policy[] = [];
  for (const policy of policies) {
    const shard = shardPolicy(policy, shards);
    if (!shard) {
      return {
        ok: false,
        reason: "too_many_shards",
        detail: `"${policy.name}" (limit ${policy.limit}) cannot be split over ${shards} shards.`,
        policy: policy.name,
        limit: policy.limit,
        shards,
      };
    }
    split.push(shard);
  }
  return { ok: true, value: split };
}

/**
 * This isolate's remembered denials (see src/denial-cache.ts), used by checks that ask for it
 * (`cache: true` over RPC, the `DENIAL_CACHE` var over HTTP). Every refund, reset and change of
 * overrides through this isolate forgets the key's denials, whether or not its checks use them.
 */
export const denials = new DenialCache();

/** Whether the `DENIAL_CACHE` var turns the cache on for HTTP checks: `true` (or `"true"`, from the dashboard). */
export function denialCacheOn(env: Env): boolean {
  const value: unknown = env.DENIAL_CACHE;
  return value === true || value === "true";
}

/** The object `name` checks `policies`, or its denial remembered in this isolate. */
async function checkObject(
  env: Env,
  name: string,
  policies: Policy[],
  cost: number,
  options: CheckOptions,
): Promise<CheckResult> {
  if (!options.cache) return objectFor(env, name).check(policies, cost);
  const remembered = denials.get(name, policies, cost);
  if (remembered) return { ...remembered, cached: true };
  const ticket = denials.ticket();
  const result = await objectFor(env, name).check(policies, cost);
  denials.remember(name, policies, cost, result, ticket);
  return result;
}

/**
 * Checks (and when admitted consumes) `cost` units of `key` against all `policies` at once.
 *
 * @example
 * ```ts
 * const result = await check(env, { key: "user:42", policies: ["api", "hourly"] });
 * if (!result.ok) return new Response(result.detail, { status: 422 });
 * if (!result.allowed) return new Response("slow down", { status: 429, headers: rateLimitHeaders(result) });
 * ```
 */
export async function check(env: Env, request: CheckRequest, options: CheckOptions = {}): Promise<Answer<CheckResult>> {
  const body = parse(CheckBody, request);
  if (!body.ok) return body;
  return checkValid(env, body.value, options);
}

/** {@link check} for a body already validated against `CheckBody` (the HTTP route's, by its middleware). */
export async function checkValid(
  env: Env,
  body: z.output<typeof CheckBody>,
  options: CheckOptions = {},
): Promise<Answer<CheckResult>> {
  const { key, policies: references, cost, shards: asked } = body;
  const policies = policiesFor(env, references);
  if (!policies.ok) return policies;
  const overCost = costRefusal(policies.value, cost);
  if (overCost) return overCost;
  const shards = shardsOf(env, key);
  const mismatch = askedRefusal(key, shards, asked);
  if (mismatch) return mismatch;
  if (shards === 1) return { ok: true, ...(await checkObject(env, key, policies.value, cost, options)) };
  const split = perShard(policies.value, shards);
  if (!split.ok) return split;
  const overShardCost = costRefusal(split.value, cost);
  if (overShardCost) return overShardCost;
  // A denial is remembered per shard: the next check may go to another shard, which is asked.
  const index = pickShard(shards);
  const result = await checkObject(env, shardName(key, index), split.value, cost, options);
  return { ok: true, ...result, shard: { index, of: shards } };
}

/**
 * Gives `cost` units back to `key` under each policy. A sharded key's units go back to the shard
 * that took them: `shard` is the `shard.index` its check answered.
 */
export async function refund(env: Env, key: string, request: RefundRequest): Promise<Answer<CheckResult>> {
  const validKey = parse(rateLimitKey, key);
  if (!validKey.ok) return validKey;
  const body = parse(RefundBody, request);
  if (!body.ok) return body;
  const { policies: references, cost, shard } = body.value;
  const policies = policiesFor(env, references);
  if (!policies.ok) return policies;
  const shards = shardsOf(env, validKey.value);
  if (shards === 1 && (shard === undefined || shard === 0)) {
    const result = await denials.forgetAround([validKey.value], () =>
      objectFor(env, validKey.value).refund(policies.value, cost),
    );
    return { ok: true, ...result };
  }
  if (shard === undefined || shard >= shards) {
    const range = shards === 1 ? "it has one object, shard 0" : `0 to ${shards - 1}`;
    return {
      ok: false,
      reason: "invalid_shard",
      detail:
        shards === 1
          ? `Key "${validKey.value}" is not sharded: send no "shard" (${range}).`
          : `Key "${validKey.value}" is spread over ${shards} shards: send the "shard" its check answered (${range}).`,
      shards,
    };
  }
  const split = perShard(policies.value, shards);
  if (!split.ok) return split;
  const name = shardName(validKey.value, shard);
  const result = await denials.forgetAround([name], () => objectFor(env, name).refund(split.value, cost));
  return { ok: true, ...result, shard: { index: shard, of: shards } };
}

/**
 * Where `key` stands under `policies` (default: every policy it has state for), consuming nothing.
 * A sharded key's shards are added up (see {@link mergeShards}).
 */
export async function peek(
  env: Env,
  key: string,
  references?: readonly PolicyReference[],
): Promise<Answer<QuotaResult>> {
  const validKey = parse(rateLimitKey, key);
  if (!validKey.ok) return validKey;
  const policies = references ? policiesFor(env, references) : undefined;
  if (policies && !policies.ok) return policies;
  const shards = shardsOf(env, validKey.value);
  if (shards === 1) return { ok: true, ...(await objectFor(env, validKey.value).peek(policies?.value)) };
  const split = policies && perShard(policies.value, shards);
  if (split && !split.ok) return split;
  const standings = await Promise.all(
    shardNames(validKey.value, shards).map((name) => objectFor(env, name).standing(split?.value)),
  );
  const names = split
    ? split.value.map((policy) => policy.name)
    : [...new Set(standings.flatMap((shard) => shard.map((s) => s.policy.name)))].sort();
  const quotas = names.map((name) =>
    mergeShards(standings.map((shard) => shard.find((s) => s.policy.name === name) ?? null))!,
  );
  return { ok: true, allowed: quotas.every((quota) => quota.remaining > 0), policies: quotas };
}

/**
 * Forgets all state of `key`: of each of its configured shards, and of its own object (state it
 * may hold from before it was sharded). `shards`, when given, must be the configured count.
 * Answers how many shards the key has.
 */
export async function reset(env: Env, key: string, shards?: unknown): Promise<Answer<{ shards: number }>> {
  const validKey = parse(rateLimitKey, key);
  if (!validKey.ok) return validKey;
  const asked = shards === undefined ? undefined : parse(z.object({ shards: shardCountSchema }), { shards });
  if (asked && !asked.ok) return asked;
  const configured = shardsOf(env, validKey.value);
  const refusal = askedRefusal(validKey.value, configured, asked?.value.shards);
  if (refusal) return refusal;
  const names = configured === 1 ? [validKey.value] : [validKey.value, ...shardNames(validKey.value, configured)];
  await denials.forgetAround(names, () => Promise.all(names.map((name) => objectFor(env, name).reset())));
  return { ok: true, shards: configured };
}

/**
 * The key's own object, for its overrides: a sharded key has none (each shard enforces a share of
 * the configured policy), which is the `sharded_key` refusal.
 */
function unshardedKey(env: Env, key: string): Checked<string> {
  const validKey = parse(rateLimitKey, key);
  if (!validKey.ok) return validKey;
  const shards = shardsOf(env, validKey.value);
  if (shards === 1) return validKey;
  return {
    ok: false,
    reason: "sharded_key",
    detail: `Key "${validKey.value}" is spread over ${shards} shards, which take no overrides: give it its own policy instead.`,
    shards,
  };
}

/** The key's overrides, policy name to `{ limit, period, burst? }`. */
export async function getOverrides(env: Env, key: string): Promise<Answer<{ overrides: Overrides }>> {
  const validKey = unshardedKey(env, key);
  if (!validKey.ok) return validKey;
  return { ok: true, overrides: await objectFor(env, validKey.value).getOverrides() };
}

/**
 * Replaces the key's overrides: each check of a policy named there uses the override's `limit`
 * and `period` instead of the configured ones (`limit: 0` blocks). Stored in the key's object.
 *
 * @example
 * ```ts
 * await setOverrides(env, "user:42", { api: { limit: 1000, period: 1 } }); // a paying customer
 * await setOverrides(env, "ip:198.51.100.7", { api: { limit: 0, period: 3600 } }); // blocked
 * ```
 */
export async function setOverrides(
  env: Env,
  key: string,
  overrides: unknown,
): Promise<Answer<{ overrides: Overrides }>> {
  const validKey = unshardedKey(env, key);
  if (!validKey.ok) return validKey;
  const body = parse(OverridesBody, overrides);
  if (!body.ok) return body;
  const stored = await denials.forgetAround([validKey.value], () =>
    objectFor(env, validKey.value).setOverrides(body.value),
  );
  return { ok: true, overrides: stored };
}

/** Removes the key's overrides: the configured policies apply again. */
export async function deleteOverrides(env: Env, key: string): Promise<Answer<object>> {
  const validKey = unshardedKey(env, key);
  if (!validKey.ok) return validKey;
  await denials.forgetAround([validKey.value], () => objectFor(env, validKey.value).deleteOverrides());
  return { ok: true };
}

/** Opens `key`'s quota WebSocket. A sharded key has none: each check goes to one shard. */
export async function watch(env: Env, key: string, request: Request): Promise<Answer<{ response: Response }>> {
  const shards = shardsOf(env, key);
  if (shards > 1) {
    return {
      ok: false,
      reason: "sharded_key",
      detail: `Key "${key}" is spread over ${shards} shards, which have no live quota socket; peek it with GET /api/keys/${key}.`,
      shards,
    };
  }
  return { ok: true, response: await objectFor(env, key).fetch(request) };
}
