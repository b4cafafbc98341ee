/**
 * The Worker side of every operation, shared by the HTTP routes, the RPC service and the
 * middleware: validate the request, resolve its policies, refuse what can never succeed, and
 * only then call the key's object.
 */
import { ProblemError, problemType } from "@durable-patterns/shared";
import { z } from "zod";
import {
  PolicyReferenceError,
  capacity,
  namedPolicies,
  resolvePolicies,
  type Policy,
  type PolicyReference,
} from "./policy";
import {
  CheckBody,
  RefundBody,
  rateLimitKey,
  type CheckRequest,
  type QuotaResult,
  type RefundRequest,
} from "./protocol";
import { mergeShards, pickShard, shardCount, shardCountSchema, shardName, shardPolicy } from "./sharding";

function invalid(error: z.ZodError): ProblemError {
  const errors = error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
  return new ProblemError(
    422,
    `Invalid request: ${errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join("; ")}`,
    {
      type: problemType("invalid-body"),
      extensions: { errors },
    },
  );
}

/** Parses with `schema`, or throws the 422 problem every route and RPC method answers with. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalid(result.error);
  return result.data;
}

/** Resolves references against the `POLICIES` var; an unknown name is a 422. */
export function policiesFor(env: Env, references: readonly PolicyReference[]): Policy[] {
  try {
    return resolvePolicies(references, namedPolicies(env.POLICIES));
  } catch (error) {
    if (!(error instanceof PolicyReferenceError)) throw error;
    throw new ProblemError(422, error.message, { type: problemType("unknown-policy") });
  }
}

/** A cost no policy could ever admit is refused up front: it is a bug, not a reason to wait. */
function checkCost(policies: Policy[], cost: number): void {
  for (const policy of policies) {
    if (cost > capacity(policy)) {
      throw new ProblemError(
        422,
        `A cost of ${cost} can never be admitted by "${policy.name}", which grants at most ${capacity(policy)} at once.`,
        { type: problemType("cost-exceeds-limit"), extensions: { policy: policy.name, capacity: capacity(policy) } },
      );
    }
  }
}

export function limiter(env: Env, name: string) {
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
function checkAsked(key: string, shards: number, asked: number | undefined): void {
  if (asked === undefined || asked === shards) return;
  const where =
    shards === 1 ? `Key "${key}" is not sharded` : `Key "${key}" is spread over ${shards} shards by the server`;
  throw new ProblemError(
    422,
    `${where}: the server's SHARDS setting decides a key's shards; send no "shards" (or ${shards}).`,
    { type: problemType("shard-count-mismatch"), extensions: { shards } },
  );
}

/** The policies one shard of a key spread over `shards` objects enforces. */
function perShard(policies: Policy[], shards: number): Policy[] {
  return policies.map((policy) => {
    const shard = shardPolicy(policy, shards);
    if (!shard) {
      throw new ProblemError(422, `"${policy.name}" (limit ${policy.limit}) cannot be split over ${shards} shards.`, {
        type: problemType("too-many-shards"),
      });
    }
    return shard;
  });
}

/** What a check or refund answers: the result, plus which shard it went to when the key is sharded. */
export type CheckResult = QuotaResult & { shard?: { index: number; of: number } };

/**
 * Checks (and when admitted consumes) `cost` units of `key` against all `policies` at once.
 *
 * @example
 * ```ts
 * const result = await check(env, { key: "user:42", policies: ["api", "hourly"] });
 * if (!result.allowed) return new Response("slow down", { status: 429, headers: rateLimitHeaders(result) });
 * ```
 */
export async function check(env: Env, request: CheckRequest): Promise<CheckResult> {
  const { key, policies: references, cost, shards: asked } = parse(CheckBody, request);
  const policies = policiesFor(env, references);
  checkCost(policies, cost);
  const shards = shardsOf(env, key);
  checkAsked(key, shards, asked);
  if (shards === 1) return limiter(env, key).check(policies, cost);
  const split = perShard(policies, shards);
  checkCost(split, cost);
  const index = pickShard(shards);
  const result = await limiter(env, shardName(key, index)).check(split, cost);
  return { ...result, shard: { index, of: shards } };
}

/**
 * Gives `cost` units back to `key` under each policy. A sharded key's units go back to the shard
 * that took them: `shard` is the `shard.index` its check answered.
 */
export async function refund(env: Env, key: string, request: RefundRequest): Promise<CheckResult> {
  const validKey = parse(rateLimitKey, key);
  const { policies: references, cost, shard } = parse(RefundBody, request);
  const policies = policiesFor(env, references);
  const shards = shardsOf(env, validKey);
  if (shards === 1 && (shard === undefined || shard === 0)) return limiter(env, validKey).refund(policies, cost);
  if (shard === undefined || shard >= shards) {
    const range = shards === 1 ? "it has one object, shard 0" : `0 to ${shards - 1}`;
    throw new ProblemError(
      422,
      shards === 1
        ? `Key "${validKey}" is not sharded: send no "shard" (${range}).`
        : `Key "${validKey}" is spread over ${shards} shards: send the "shard" its check answered (${range}).`,
      { type: problemType("invalid-shard"), extensions: { shards } },
    );
  }
  const result = await limiter(env, shardName(validKey, shard)).refund(perShard(policies, shards), cost);
  return { ...result, shard: { index: shard, of: shards } };
}

/**
 * Where `key` stands under `policies` (default: every policy it has state for), consuming nothing.
 * A sharded key's shards are added up (see {@link mergeShards}).
 */
export async function peek(env: Env, key: string, references?: readonly PolicyReference[]): Promise<QuotaResult> {
  const validKey = parse(rateLimitKey, key);
  const policies = references ? policiesFor(env, references) : undefined;
  const shards = shardsOf(env, validKey);
  if (shards === 1) return limiter(env, validKey).peek(policies);
  const split = policies && perShard(policies, shards);
  const standings = await Promise.all(
    Array.from({ length: shards }, (_, i) => limiter(env, shardName(validKey, i)).standing(split)),
  );
  const names = split
    ? split.map((policy) => policy.name)
    : [...new Set(standings.flatMap((shard) => shard.map((s) => s.policy.name)))].sort();
  const quotas = names.map((name) =>
    mergeShards(standings.map((shard) => shard.find((s) => s.policy.name === name) ?? null))!,
  );
  return { allowed: quotas.every((quota) => quota.remaining > 0), policies: quotas };
}

/**
 * Forgets all state of `key`: of each of its configured shards, and of its own object (state it
 * may hold from before it was sharded). `shards`, when given, must be the configured count.
 * Returns how many shards the key has.
 */
export async function reset(env: Env, key: string, shards?: unknown): Promise<{ shards: number }> {
  const validKey = parse(rateLimitKey, key);
  const asked = shards === undefined ? undefined : parse(z.object({ shards: shardCountSchema }), { shards }).shards;
  const configured = shardsOf(env, validKey);
  checkAsked(validKey, configured, asked);
  const names =
    configured === 1 ? [validKey] : [validKey, ...Array.from({ length: configured }, (_, i) => shardName(validKey, i))];
  await Promise.all(names.map((name) => limiter(env, name).reset()));
  return { shards: configured };
}

/** Opens `key`'s quota WebSocket. A sharded key has none: each check goes to one shard. */
export async function watch(env: Env, key: string, request: Request): Promise<Response> {
  const shards = shardsOf(env, key);
  if (shards > 1) {
    throw new ProblemError(
      422,
      `Key "${key}" is spread over ${shards} shards, which have no live quota socket; peek it with GET /api/keys/${key}.`,
      { type: problemType("sharded-key"), extensions: { shards } },
    );
  }
  return limiter(env, key).fetch(request);
}
