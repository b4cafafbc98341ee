/**
 * The model of one key's object for the override properties: its state rows and its overrides,
 * advanced by the pure algorithms, and a recorder that sees, in the object itself, the order in
 * which it runs each call. The objects run in the tests' isolate, so a spy on the class's
 * prototype runs inside the object, synchronously with the operation: the order it records is
 * the object's own order, whatever path a call took (HTTP, RPC, the alarm) and whenever its
 * answer reaches the caller. Each operation is checked against the model at that instant.
 */
import { exports } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { ALGORITHMS, type Decision, type StateColumns } from "../src/algorithms";
import { capacity, type Policy } from "../src/policy";
import type { Overrides, QuotaResult } from "../src/protocol";
import { CLOCK_STEP_GRACE_MS, RateLimiter } from "../src/rate-limiter-object";

/** What a check or refund answers, as far as the model predicts it. */
export interface Shape {
  allowed: boolean;
  policies: { name: string; limit: number; period: number; remaining: number; overridden?: true }[];
}

export function shapeOf(result: Pick<QuotaResult, "allowed" | "policies">): Shape {
  return {
    allowed: result.allowed,
    policies: result.policies.map(({ name, limit, period, remaining, overridden }) => ({
      name,
      limit,
      period,
      remaining,
      ...(overridden ? { overridden } : {}),
    })),
  };
}

interface Row {
  state: StateColumns;
  expires: number;
}

/** A policy as the README says an override makes it: its limit and period, GCRA's burst (default the limit). */
function withOverride(policy: Policy, overrides: Overrides): Policy & { overridden?: true } {
  const override = overrides[policy.name];
  if (!override) return policy;
  const effective: Policy & { overridden?: true } = { ...policy, ...override, overridden: true };
  if (policy.algorithm === "gcra") effective.burst = override.burst ?? Math.max(1, override.limit);
  else delete effective.burst;
  return effective;
}

/** Limit 0 refuses everything, asked to wait a period; a cost over what the override can grant waits a period too. */
function decide(policy: Policy, state: StateColumns | null, now: number, cost: number): Decision<StateColumns> {
  const algorithm = ALGORITHMS[policy.algorithm];
  if (policy.limit === 0) {
    return { allowed: false, state: { a: 0, b: 0, c: 0 }, remaining: 0, resetMs: 0, retryAfterMs: 0, expiresAt: 0 };
  }
  if (cost <= capacity(policy)) return algorithm.check(policy, state, now, cost);
  return { ...algorithm.check(policy, state, now, 0), allowed: false };
}

export class KeyModel {
  rows = new Map<string, Row>();
  overrides: Overrides = {};

  /** Whether some state is kept (its expiry plus the clock-step grace is still ahead). */
  live(now: number): boolean {
    return [...this.rows.values()].some((row) => row.expires + CLOCK_STEP_GRACE_MS > now);
  }

  /** A check of `configured` (the policies as the Worker resolved them) by this key. */
  check(configured: Policy[], cost: number, now: number): Shape {
    const policies = configured.map((policy) => withOverride(policy, this.overrides));
    const state = (p: Policy) => this.rows.get(p.name)?.state ?? null;
    let decisions = policies.map((p) => decide(p, state(p), now, cost));
    const allowed = decisions.every((d) => d.allowed);
    if (allowed && cost > 0) {
      policies.forEach((p, i) =>
        this.rows.set(p.name, { state: decisions[i]!.state, expires: decisions[i]!.expiresAt }),
      );
    }
    if (!allowed)
      decisions = decisions.map((d, i) => (d.allowed ? decide(policies[i]!, state(policies[i]!), now, 0) : d));
    return shapeOf({ allowed, policies: policies.map((p, i) => this.quota(p, decisions[i]!)) });
  }

  refund(configured: Policy[], cost: number, now: number): Shape {
    const policies = configured.map((policy) => withOverride(policy, this.overrides));
    const quotas = policies.map((p) => {
      const row = this.rows.get(p.name);
      if (p.limit === 0) return this.quota(p, decide(p, null, now, 0));
      const decision = ALGORITHMS[p.algorithm].refund(p, row?.state ?? null, now, cost);
      // A refund never creates a row.
      if (row) this.rows.set(p.name, { state: decision.state, expires: decision.expiresAt });
      return this.quota(p, decision);
    });
    return shapeOf({ allowed: true, policies: quotas });
  }

  private quota(p: Policy & { overridden?: true }, d: Decision<StateColumns>) {
    return {
      name: p.name,
      algorithm: p.algorithm,
      limit: p.limit,
      period: p.period,
      remaining: d.remaining,
      reset: 0,
      retryAfter: 0,
      ...(p.overridden ? { overridden: true as const } : {}),
    };
  }

  /** A reset, or a purge: the state goes, the overrides stay. */
  clearState(): void {
    this.rows.clear();
  }
}

/** The names of the object's quota rows: its state rows and its overrides (`~<policy>`). */
export function rowNames(model: KeyModel): string[] {
  return [...[...model.rows.keys()], ...Object.keys(model.overrides).map((name) => `~${name}`)].sort();
}

/** The calls the recorder watches: every method a caller reaches, and the alarm. */
export const WATCHED = [
  "check",
  "refund",
  "getOverrides",
  "setOverrides",
  "deleteOverrides",
  "reset",
  "alarm",
] as const;
export type Watched = (typeof WATCHED)[number];

/**
 * One case's view of one key's object. `onCall` runs inside the object as it runs each watched
 * method of that key as the object runs it (`call`, which runs it with `run`); the object's clock
 * is set to `now` first, so the object and the model decide at the same instant.
 */
export interface Observer {
  key: string;
  now: number;
  /** Runs the call; the result, or throws what it threw. */
  call(method: Watched, args: unknown[], run: () => unknown): unknown;
  /** `storage.deleteAll()` was called by the object, with the real one to call. */
  deleteAll(real: () => Promise<void>): Promise<void>;
  /** The object runs this SQL statement: throw to fail it as a storage fault would. */
  exec(query: string): void;
  /**
   * A slow object, whose answer comes after the caller's timeout: it waits (a timer in the object
   * itself) before it runs this call, or runs it at once and answers after the wait. Other calls
   * run meanwhile.
   */
  delay?(method: Watched): { ms: number; then: "run" | "answer" } | null;
}

let observer: Observer | null = null;

/** Watches the objects of this isolate; calls of any key other than `observer.key` pass through. */
export function installRecorder(): (next: Observer | null) => void {
  const patched = new WeakSet<object>();
  for (const method of WATCHED) {
    const original = RateLimiter.prototype[method] as (...args: unknown[]) => unknown;
    vi.spyOn(RateLimiter.prototype, method).mockImplementation(function (this: RateLimiter, ...args: unknown[]) {
      const watching = observer;
      const ctx = (this as unknown as { ctx: DurableObjectState }).ctx;
      if (!watching || ctx.id.name !== watching.key) return original.apply(this, args) as never;
      if (!patched.has(ctx.storage)) {
        patched.add(ctx.storage);
        const real = ctx.storage.deleteAll.bind(ctx.storage);
        const storage = ctx.storage as { deleteAll: DurableObjectStorage["deleteAll"] };
        storage.deleteAll = (options) => {
          const now = observer;
          return now && ctx.id.name === now.key ? now.deleteAll(() => real(options)) : real(options);
        };
        const sql = ctx.storage.sql as { exec: SqlStorage["exec"] };
        const exec = sql.exec.bind(ctx.storage.sql);
        sql.exec = ((query: string, ...bindings: unknown[]) => {
          const now = observer;
          if (now && ctx.id.name === now.key) now.exec(query);
          return exec(query, ...bindings);
        }) as SqlStorage["exec"];
      }
      const run = () => {
        // One instant per call, the model's: a clock step during a reset's or an alarm's awaits
        // must not change what it decides.
        const at = watching.now;
        this.clock = () => at;
        return watching.call(method, args, () => original.apply(this, args));
      };
      const delay = watching.delay?.(method) ?? null;
      if (delay === null) return run() as never;
      if (delay.then === "answer") {
        const result = run();
        return new Promise((resolve) => setTimeout(() => resolve(result), delay.ms)) as never;
      }
      return new Promise((resolve, reject) => {
        setTimeout(() => {
          try {
            resolve(run());
          } catch (error) {
            reject(error);
          }
        }, delay.ms);
      }) as never;
    });
  }
  return (next) => {
    observer = next;
  };
}

/** The figures a property counts into (see `hostile.propertyRuns`). */
export interface OverrideFigures extends Record<string, number> {
  cases: number;
  admitted: number;
  refused: number;
  refusedByOverride: number;
  overridesSet: number;
  overridesDeleted: number;
  resets: number;
  purgesKeepingOverrides: number;
  purgesWhole: number;
  injected: number;
}

/**
 * The figures of a property watched by {@link watchKey}, all zero: what it counts itself (cases
 * started by {@link watchedCase}, verdicts, override changes, resets, purges, injected faults), then
 * the property's own `extra` ones.
 */
export function overrideFigures<E extends Record<string, number>>(extra: E): OverrideFigures & E {
  return {
    cases: 0,
    admitted: 0,
    refused: 0,
    refusedByOverride: 0,
    overridesSet: 0,
    overridesDeleted: 0,
    resets: 0,
    purgesKeepingOverrides: 0,
    purgesWhole: 0,
    injected: 0,
    ...extra,
  };
}

/** JSON with every object's keys sorted: overrides are a map, their order is no part of the answer. */
export const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );

const empty = (o: Overrides) => Object.keys(o).length === 0;

const service = exports.RateLimiterService;

/**
 * The observer of one case: `key`'s object checked against a fresh model at each call it runs, its
 * clock at `observer.now` (from `t0`). `faults` arms one storage fault each: the next
 * `deleteAll()` (the purge of a key without overrides), or the next statement deleting state rows
 * in the purge of a key with overrides (its transaction rolls back). A failed call changes nothing
 * in the model: whatever the object had done inside the failed transaction must be undone.
 */
export function watchKey(key: string, t0: number, figures: OverrideFigures) {
  const model = new KeyModel();
  const violations: string[] = [];
  /** Answers the object gave, in its order. */
  const given = { checks: [] as string[], refunds: [] as string[] };
  const faults = { deleteAll: false, purgeTransaction: false };
  /** The async call the object is in (a reset's, an alarm's): nothing else may run inside it. */
  let pending: string | null = null;

  const expectEqual = (what: string, actual: unknown, expected: unknown) => {
    const a = canonical(actual);
    const e = canonical(expected);
    if (a !== e) violations.push(`${what}: object ${a}, model ${e}`);
  };

  const observer: Observer = {
    key,
    now: t0,
    call(method, args, run) {
      if (pending) violations.push(`${method} ran while ${pending} was pending`);
      const at = observer.now;
      switch (method) {
        case "check":
        case "refund": {
          const [asked, cost] = args as [Policy[], number];
          const names = asked.map((p) => p.name);
          const expected = method === "check" ? model.check(asked, cost, at) : model.refund(asked, cost, at);
          const result = run() as QuotaResult;
          const shape = shapeOf(result);
          expectEqual(`${method} ${names.join(",")} cost ${cost} at +${at - t0}`, shape, expected);
          given[method === "check" ? "checks" : "refunds"].push(JSON.stringify(shape));
          if (method === "check") {
            figures[shape.allowed ? "admitted" : "refused"]++;
            if (!shape.allowed && shape.policies.some((p) => p.overridden)) figures.refusedByOverride++;
          }
          return result;
        }
        case "getOverrides": {
          const result = run();
          expectEqual(`getOverrides at +${at - t0}`, result, model.overrides);
          return result;
        }
        case "setOverrides": {
          const [next] = args as [Overrides];
          const result = run();
          model.overrides = structuredClone(next);
          expectEqual(`setOverrides`, result, model.overrides);
          figures.overridesSet++;
          return result;
        }
        case "deleteOverrides":
        case "reset":
        case "alarm": {
          pending = method;
          const hadOverrides = !empty(model.overrides);
          const hadState = model.rows.size > 0;
          // deleteOverrides removes them before its purge: a failed purge leaves them removed.
          if (method === "deleteOverrides") model.overrides = {};
          const purges = method === "reset" || !model.live(at);
          const done = (run() as Promise<unknown>).finally(() => (pending = null));
          return done.then((result) => {
            if (purges) {
              model.clearState();
              if (method !== "reset" && hadState) {
                figures[empty(model.overrides) ? "purgesWhole" : "purgesKeepingOverrides"]++;
              }
            }
            if (method === "reset") figures.resets++;
            if (method === "deleteOverrides" && hadOverrides) figures.overridesDeleted++;
            return result;
          });
        }
      }
    },
    deleteAll(real) {
      if (!empty(model.overrides)) violations.push(`deleteAll() of a key with overrides ${canonical(model.overrides)}`);
      if (faults.deleteAll) {
        faults.deleteAll = false;
        figures.injected++;
        return Promise.reject(new Error("injected: deleteAll() failed"));
      }
      return real();
    },
    exec(query) {
      if (faults.purgeTransaction && query.startsWith("DELETE FROM quota WHERE name < ?")) {
        faults.purgeTransaction = false;
        figures.injected++;
        throw new Error("injected: the purge's statement failed");
      }
    },
  };
  return { model, observer, violations, given, faults };
}

/**
 * Runs one case on a pooled `key`, watched. With the recorder off (`observe(null)`), the key's
 * overrides and then its state are removed through the RPC service, so it holds nothing; `run`
 * then acts with every call to the object checked against a fresh model (see {@link watchKey}),
 * armed by `run` as it needs (faults, delays). However `run` ends, the recorder is off again, and
 * the case passes only if the object never did what the model forbids.
 */
export async function watchedCase(
  key: string,
  observe: (next: Observer | null) => void,
  t0: number,
  figures: OverrideFigures,
  run: (watched: ReturnType<typeof watchKey>) => Promise<void>,
): Promise<void> {
  observe(null);
  expect((await service.deleteOverrides(key)).ok).toBe(true);
  expect((await service.reset(key)).ok).toBe(true);
  figures.cases++;
  const watched = watchKey(key, t0, figures);
  observe(watched.observer);
  try {
    await run(watched);
  } finally {
    observe(null);
  }
  expect(watched.violations).toEqual([]);
}
