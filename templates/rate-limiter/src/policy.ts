/**
 * Policies: what a key is limited to. A check names policies configured in the `POLICIES` var
 * or sends them inline; both are validated here, in the Worker, before any object is touched.
 *
 * @example
 * ```ts
 * const named = namedPolicies(env.POLICIES); // throws PolicyConfigError with every problem listed
 * const policies = resolvePolicies(["api", { algorithm: "gcra", limit: 5, period: 60 }], named);
 * ```
 */
import { z } from "zod";
import type { AlgorithmName } from "./algorithms";

/** Most units per period (the IETF header's Integer allows 15 digits; this keeps sums exact). */
export const MAX_LIMIT = 1_000_000_000;
/** Longest period: one year. A limit per decade is a quota, not a rate. */
export const MAX_PERIOD = 366 * 24 * 3600;
/** Most policies one check evaluates: each costs one row read, and one write when admitted. */
export const MAX_POLICIES = 10;

/**
 * A policy name: becomes the IETF header's sf-string item, so printable ASCII only, without `"`
 * or `\` (which would need escaping) and without `,` or `;` that a sloppy client parser might split on.
 */
export const policyName = z
  .string()
  .regex(/^[A-Za-z0-9_.:/-]{1,64}$/, "must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '.', ':', '/' or '-'");

const algorithm = z.enum(["gcra", "sliding-window", "fixed-window"] satisfies AlgorithmName[]);
const limit = z.int().min(1, "must be at least 1").max(MAX_LIMIT);
const period = z.int().min(1, "must be at least 1 second").max(MAX_PERIOD, `must be at most ${MAX_PERIOD} seconds`);
/**
 * `enforce` (the default) refuses what the policy does not admit; `shadow` counts and reports (in
 * the answer, the `RateLimit-Shadow` header, logs and metrics) but never refuses: a new limit can
 * be tried on live traffic before it is enforced.
 */
export const policyMode = z.enum(["enforce", "shadow"]);

/**
 * Seconds a full GCRA bucket takes to refill (`burst × period / limit`), rounded up; BigInt
 * because `burst × period` can pass 2^53.
 */
export function refillSeconds(p: { limit: number; period: number; burst?: number | undefined }): bigint {
  const limit = BigInt(p.limit);
  return (BigInt(p.burst ?? p.limit) * BigInt(p.period) + limit - 1n) / limit;
}

/** A policy as written in a request or in `POLICIES` (the name comes from the key there). */
export const PolicyDefinition = z
  .strictObject({
    name: policyName.optional(),
    algorithm,
    limit,
    period,
    burst: limit.optional(),
    mode: policyMode.optional(),
  })
  .refine((p) => p.burst === undefined || p.algorithm === "gcra", {
    message: "burst applies to the gcra algorithm only",
    path: ["burst"],
  })
  // GCRA is exact for every policy accepted here (packages/shared/src/gcra.ts). What it could not keep
  // exact is a bucket whose state reaches beyond what is stored and alarmed: refused, with why.
  // A window policy holds state for at most two periods (two years); GCRA for one refill.
  .superRefine((p, context) => {
    // Runs even when a field failed: only whole positive numbers are worth measuring.
    const whole = [p.limit, p.period, p.burst ?? p.limit].every((n) => Number.isSafeInteger(n) && n >= 1);
    if (p.algorithm !== "gcra" || !whole) return;
    const refill = refillSeconds(p);
    if (refill <= BigInt(MAX_PERIOD)) return;
    context.addIssue({
      code: "custom",
      path: ["burst"],
      message:
        `a full bucket would take ${refill} s to refill (burst × period / limit), more than one year ` +
        `(${MAX_PERIOD} s); lower the burst or raise the limit`,
    });
  });
export type PolicyDefinition = z.output<typeof PolicyDefinition>;

/** A resolved policy: always named, `burst` set for GCRA. This is what objects receive. */
export interface Policy {
  name: string;
  algorithm: AlgorithmName;
  limit: number;
  period: number;
  burst?: number;
  /** Present only for a policy tried in shadow: counted and reported, never refusing. */
  mode?: "shadow";
}

/** The units a policy can grant at once: its burst for GCRA, its limit otherwise. */
export function capacity(policy: Policy): number {
  return policy.algorithm === "gcra" ? (policy.burst ?? policy.limit) : policy.limit;
}

/**
 * The name of an inline policy sent without one: its parameters, e.g. `gcra-10-per-1s` (with
 * `-shadow` for one in shadow mode, which keeps its own count).
 */
export function defaultName(p: PolicyDefinition): string {
  const burst = p.burst !== undefined && p.burst !== p.limit ? `-burst-${p.burst}` : "";
  const shadow = p.mode === "shadow" ? "-shadow" : "";
  return `${p.algorithm}-${p.limit}-per-${p.period}s${burst}${shadow}`;
}

function resolved(name: string, p: PolicyDefinition): Policy {
  const policy: Policy = { name, algorithm: p.algorithm, limit: p.limit, period: p.period };
  if (p.algorithm === "gcra") policy.burst = p.burst ?? p.limit;
  if (p.mode === "shadow") policy.mode = "shadow";
  return policy;
}

/** Whether `policy` may refuse a request (it is not in shadow mode). */
export function enforced(policy: { mode?: "shadow" }): boolean {
  return policy.mode !== "shadow";
}

/** The `POLICIES` var is wrong: the message lists every problem, for the deploy log. */
export class PolicyConfigError extends Error {
  override name = "PolicyConfigError";
}

const PoliciesConfig = z.record(
  policyName,
  PolicyDefinition.refine((p) => p.name === undefined, "omit name: the key is the name"),
);

const parsed = new WeakMap<object, ReadonlyMap<string, Policy>>();

/**
 * Validates the `POLICIES` var (a JSON object of name to policy) and returns the policies by
 * name. Parsed once per isolate. A string var holding JSON is accepted too.
 *
 * @throws {PolicyConfigError} naming each bad entry and field.
 */
export function namedPolicies(config: unknown): ReadonlyMap<string, Policy> {
  return parseConfigVar(
    "POLICIES",
    config,
    PoliciesConfig,
    PolicyConfigError,
    parsed,
    (data) => new Map(Object.entries(data).map(([name, p]) => [name, resolved(name, p)])),
  );
}

/**
 * Reads a JSON configuration variable (`wrangler.jsonc` gives an object, `.dev.vars` or the
 * dashboard a string) through `schema`, builds what it configures, and caches it per object.
 * Absent, it builds from `{}`; invalid, it throws `Failure` naming the variable and each bad field.
 */
export function parseConfigVar<Schema extends z.ZodType, Built>(
  name: string,
  config: unknown,
  schema: Schema,
  Failure: new (message: string) => Error,
  cache: WeakMap<object, Built>,
  build: (data: z.output<Schema>) => Built,
): Built {
  if (config === undefined || config === null) return build({} as z.output<Schema>);
  if (typeof config === "object" && cache.has(config)) return cache.get(config)!;
  let value: unknown = config;
  if (typeof config === "string") {
    try {
      value = JSON.parse(config) as unknown;
    } catch {
      throw new Failure(`${name} is not valid JSON.`);
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.map(String).join(".") || name}: ${i.message}`);
    throw new Failure(`${name} is invalid: ${problems.join("; ")}`);
  }
  const built = build(result.data);
  if (typeof config === "object") cache.set(config, built);
  return built;
}

/** A policy reference in a request: a configured name, or a policy inline. */
export const PolicyReference = z.union([policyName, PolicyDefinition]);
export type PolicyReference = z.output<typeof PolicyReference>;

/** A request named a policy that is not configured, or two policies with one name. */
export class PolicyReferenceError extends Error {
  override name = "PolicyReferenceError";
}

/** Resolves references against the configured policies. */
export function resolvePolicies(references: readonly PolicyReference[], named: ReadonlyMap<string, Policy>): Policy[] {
  const policies = references.map((reference) => {
    if (typeof reference !== "string") return resolved(reference.name ?? defaultName(reference), reference);
    const policy = named.get(reference);
    if (!policy) {
      const known = [...named.keys()].map((name) => `"${name}"`).join(", ") || "none";
      throw new PolicyReferenceError(`No policy named "${reference}" is configured (configured: ${known}).`);
    }
    return policy;
  });
  const seen = new Set<string>();
  for (const { name } of policies) {
    if (seen.has(name)) throw new PolicyReferenceError(`The policy "${name}" appears twice in one request.`);
    seen.add(name);
  }
  return policies;
}
