/**
 * The RPC surface of {@link RateLimiterRpc} (`RateLimiterService`) and the types of its answers,
 * with no reference to this app's `Env`, so another Worker can type its service binding without
 * merging this app's bindings into its own (which `wrangler types -c caller -c rate-limiter`
 * does, and fails on):
 *
 * ```ts
 * // the caller's src/env.d.ts (its other bindings from its own `wrangler types`)
 * import type { RateLimiterRpc } from "<your copy of src>/rpc"; // this file and the ones it imports
 * interface Env { LIMITER: Service<RateLimiterRpc> }
 * ```
 *
 * `RateLimiterService implements RateLimiterRpc`, so the two cannot drift; test/caller/ compiles a
 * caller with its own `Env` against this file alone.
 */
import type { Problem } from "./shared/http";
import type { Failure, FailureOptions } from "./failure";
import type { PolicyReference } from "./policy";
import type { CheckRequest, Overrides, QuotaResult, RefundRequest } from "./protocol";

/**
 * Why a request was refused, before any object was touched. `detail` is a sentence for people;
 * the other fields are for code.
 *
 * - `invalid_request`: the input does not match the schema; `errors` lists each field.
 * - `unknown_policy`: a policy name nobody configured, or one named twice.
 * - `cost_exceeds_limit`: a `cost` more than `policy` could ever admit (`capacity`).
 * - `shard_count_mismatch`: a `shards` other than the key's configured count, `shards`.
 * - `too_many_shards`: `policy` (limit `limit`) cannot be split over the key's `shards`.
 * - `invalid_shard`: a refund's `shard` is missing or out of range for the key's `shards`.
 * - `sharded_key`: the key is spread over `shards` objects, which have no live quota socket and
 *   take no overrides.
 *
 * @example
 * ```ts
 * const result = await check(env, { key: "user:42", policies: ["api"] });
 * if (!result.ok) return console.warn(result.reason, result.detail);
 * ```
 */
export type Refusal =
  | { ok: false; reason: "invalid_request"; detail: string; errors: { path: string; message: string }[] }
  | { ok: false; reason: "unknown_policy"; detail: string }
  | { ok: false; reason: "cost_exceeds_limit"; detail: string; policy: string; capacity: number }
  | { ok: false; reason: "shard_count_mismatch"; detail: string; shards: number }
  | { ok: false; reason: "too_many_shards"; detail: string; policy: string; limit: number; shards: number }
  | { ok: false; reason: "invalid_shard"; detail: string; shards: number }
  | { ok: false; reason: "sharded_key"; detail: string; shards: number };

/** Every reason a {@link Refusal} can give. */
export type RefusalReason = Refusal["reason"];

/** What an operation answers: its result with `ok: true`, or why it was refused. */
export type Answer<T> = ({ ok: true } & T) | Refusal;

/** What a check or refund answers: the result, plus which shard it went to when the key is sharded. */
export type CheckResult = QuotaResult & {
  shard?: { index: number; of: number };
  /** Present when the answer is a denial remembered by this isolate (src/denial-cache.ts). */
  cached?: true;
};

/** Options of a check beyond its body. */
export interface CheckOptions {
  /** Answer from this isolate's remembered denials, and remember new ones (src/denial-cache.ts). */
  cache?: boolean;
}

/** A refusal with the RFC 9457 problem the HTTP API would answer it with. */
export type RefusalWithProblem = Refusal & { problem: Problem };

/** A result with the IETF header fields already serialized, to copy onto a response. */
export type WithHeaders<T extends QuotaResult> = T & { headers: Record<string, string> };

/** What a method answers: `{ ok: true, ...result }`, or the refusal with its `problem`. */
export type ServiceAnswer<T> = ({ ok: true } & T) | RefusalWithProblem;

/**
 * What `reset` answers: how many shards were reset, or the refusal, with the same RFC 9457
 * problem the HTTP API would send. Nothing is reset when it is refused.
 */
export type ResetResult = ServiceAnswer<{ shards: number }>;

/** What `check` takes beyond the request: a deadline and what it decides, and the denial cache. */
export type CheckRpcOptions = FailureOptions & CheckOptions;

/**
 * A check's answer. `unavailable` is set when the limiter could not answer in time (`timeout`) or
 * failed (`error`): `allowed` is then the `onError` decision, `policies` is empty and `headers`
 * holds only `RateLimit-Unavailable`. `cached` is set on a denial remembered by this isolate.
 */
export type CheckAnswer = ServiceAnswer<WithHeaders<CheckResult> & { unavailable?: Failure }>;

/** The methods another Worker calls on `RateLimiterService` over a service binding. */
export interface RateLimiterRpc extends Rpc.WorkerEntrypointBranded {
  check(request: CheckRequest, options?: CheckRpcOptions): Promise<CheckAnswer>;
  peek(key: string, policies?: PolicyReference[]): Promise<ServiceAnswer<WithHeaders<QuotaResult>>>;
  refund(key: string, request: RefundRequest): Promise<ServiceAnswer<WithHeaders<CheckResult>>>;
  reset(key: string, shards?: number): Promise<ResetResult>;
  getOverrides(key: string): Promise<ServiceAnswer<{ overrides: Overrides }>>;
  setOverrides(key: string, overrides: Overrides): Promise<ServiceAnswer<{ overrides: Overrides }>>;
  deleteOverrides(key: string): Promise<ServiceAnswer<object>>;
}
