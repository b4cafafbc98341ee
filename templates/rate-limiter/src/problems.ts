/**
 * The one place a {@link Refusal} becomes an RFC 9457 problem: a 422 whose `type` names the
 * reason, whose `detail` is the refusal's, and whose extensions carry its fields. The Hono
 * routes throw it; the RPC service hands its body back next to the refusal.
 *
 * @example
 * ```ts
 * const result = await limiter.check(env, request);
 * if (!result.ok) throw problemError(result); // onError answers 422 application/problem+json
 * ```
 */
import { ProblemError, type ProblemExtension } from "./shared";
import type { Answer, Refusal, RefusalWithProblem } from "./rpc";

export type { RefusalWithProblem };

/** The problem `type` slug of each reason (stable: clients switch on it). */
const TYPES: Record<Refusal["reason"], string> = {
  invalid_request: "invalid-body",
  unknown_policy: "unknown-policy",
  cost_exceeds_limit: "cost-exceeds-limit",
  shard_count_mismatch: "shard-count-mismatch",
  too_many_shards: "too-many-shards",
  invalid_shard: "invalid-shard",
  sharded_key: "sharded-key",
};

/** The problem members beyond `type`, `title`, `status` and `detail` each reason carries. */
function extensionsOf(refusal: Refusal): Record<string, ProblemExtension> | undefined {
  switch (refusal.reason) {
    case "invalid_request":
      return { errors: refusal.errors };
    case "cost_exceeds_limit":
      return { policy: refusal.policy, capacity: refusal.capacity };
    case "shard_count_mismatch":
    case "invalid_shard":
    case "sharded_key":
      return { shards: refusal.shards };
    case "unknown_policy":
    case "too_many_shards":
      return undefined;
  }
}

/** The 422 problem error a refusal answers with over HTTP. */
export function problemError(refusal: Refusal): ProblemError {
  return new ProblemError(422, refusal.detail, {
    type: TYPES[refusal.reason],
    extensions: extensionsOf(refusal),
  });
}

/** `answer` as it is when it succeeded; a refusal gains its `problem`. */
export function withProblem<T>(answer: Answer<T>): ({ ok: true } & T) | RefusalWithProblem {
  return answer.ok ? answer : { ...answer, problem: problemError(answer).problem };
}
