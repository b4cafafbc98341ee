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
import { pickShard, shardName, shardPolicy } from "./sharding";

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

/** What a check answers: the result, plus which shard decided when the key is sharded. */
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
  const { key, policies: references, cost, shards } = parse(CheckBody, request);
  const policies = policiesFor(env, references);
  checkCost(policies, cost);
  if (shards === 1) return limiter(env, key).check(policies, cost);
  const perShard = policies.map((policy) => {
    const shard = shardPolicy(policy, shards);
    if (!shard) {
      throw new ProblemError(422, `"${policy.name}" (limit ${policy.limit}) cannot be split over ${shards} shards.`, {
        type: problemType("too-many-shards"),
      });
    }
    return shard;
  });
  checkCost(perShard, cost);
  const index = pickShard(shards);
  const result = await limiter(env, shardName(key, index)).check(perShard, cost);
  return { ...result, shard: { index, of: shards } };
}

/** Gives `cost` units back to `key` under each policy. */
export async function refund(env: Env, key: string, request: RefundRequest): Promise<QuotaResult> {
  const validKey = parse(rateLimitKey, key);
  const { policies: references, cost } = parse(RefundBody, request);
  return limiter(env, validKey).refund(policiesFor(env, references), cost);
}

/** Where `key` stands under `policies` (default: every policy it has state for), consuming nothing. */
export async function peek(env: Env, key: string, references?: readonly PolicyReference[]): Promise<QuotaResult> {
  const validKey = parse(rateLimitKey, key);
  const policies = references ? policiesFor(env, references) : undefined;
  return limiter(env, validKey).peek(policies);
}

/** Forgets all state of `key` (of each of its shards, given their count). */
export async function reset(env: Env, key: string, shards = 1): Promise<void> {
  const validKey = parse(rateLimitKey, key);
  if (shards === 1) return limiter(env, validKey).reset();
  await Promise.all(Array.from({ length: shards }, (_, i) => limiter(env, shardName(validKey, i)).reset()));
}
