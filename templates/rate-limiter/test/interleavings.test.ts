/**
 * Interleavings: concurrent checks, refunds, peeks, resets, alarms (first runs and the platform's
 * retries) and clock steps forwards and backwards against one key's object, started in an order
 * fast-check's scheduler decides, with the key's next `deleteAll()` failing once in some cases.
 * Each operation runs in the object (`runInDurableObject`) and is recorded, in the order the
 * object ran it, against a model of the key's one policy advanced by the pure algorithm: the
 * object answers exactly as that serial order predicts, so no interleaving admits more than the
 * policy allows; a refund never raises remaining above the limit; a step back never raises it;
 * and a purge (of an alarm, first run or retry, after a failed one or not) never deletes state
 * that is still live, so nothing admitted is forgotten while its window is live.
 *
 * Runs `fcRuns` cases split over the three algorithms, with the seed `fcSeed` (see
 * test/reliability.test.ts for replaying).
 */
import { runInDurableObject } from "cloudflare:test";
import * as hostile from "../src/shared/hostile-input";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ALGORITHMS, type StateColumns } from "../src/algorithms";
import type { Policy } from "../src/policy";
import { CLOCK_STEP_GRACE_MS, type RateLimiter } from "../src/rate-limiter-object";
import { stub, uniqueKey } from "./helpers";

const { runs, seed, figures } = hostile.propertyRuns("interleavings", {
  cases: 0,
  admitted: 0,
  refused: 0,
  refunds: 0,
  stepsBack: 0,
  resets: 0,
  purges: 0,
  injected: 0,
  overlapped: 0,
  duringPurge: 0,
});

/** Far from the real clock, so the alarm the queue arms never fires by itself during a case. */
const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);

/**
 * The furthest the clock steps back below the latest time the object has seen: less than the
 * minute state is kept past its expiry, so a purge (due only a minute after expiry) never makes
 * a window that the clock can step back into start over (README, Guarantees under faults).
 */
const MAX_BACK_MS = 50_000;

/** Keys are drawn from a small pool and reset per case (see hostile.namePool). */
const pooledKey = hostile.namePool(() => uniqueKey("interleave"), 16).take;

const op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("check" as const), cost: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("refund" as const), cost: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("peek" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reset" as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("alarm" as const), retryCount: fc.integer({ min: 0, max: 3 }) }),
  },
  // Forwards past expiries and purge times (periods are at most 10 s), backwards across boundaries.
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("step" as const), by: fc.integer({ min: -25_000, max: 100_000 }) }),
  },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

const policyFor = (algorithm: Policy["algorithm"]) =>
  fc
    .record({ limit: fc.integer({ min: 1, max: 5 }), period: fc.integer({ min: 1, max: 10 }) })
    .map(({ limit, period }): Policy => ({ name: "p", algorithm, limit, period }));

/** The model: the key's one row, as the object must hold it. */
interface Row {
  state: StateColumns;
  expires: number;
}

/** The row the object holds, read in the same synchronous turn as the operation it goes with. */
function objectRow(state: DurableObjectState): Row | null {
  const table = state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'quota'");
  if (table.toArray().length === 0) return null;
  const rows = state.storage.sql.exec<{ a: number; b: number; c: number; expires: number }>(
    "SELECT a, b, c, expires FROM quota WHERE name = 'p'",
  );
  const row = rows.toArray()[0];
  return row ? { state: { a: row.a, b: row.b, c: row.c }, expires: row.expires } : null;
}

async function property(policy: Policy, ops: Op[], failPurge: boolean, s: fc.Scheduler) {
  const key = pooledKey();
  const algorithm = ALGORITHMS[policy.algorithm];
  let now = T0;
  /** The latest time the object's clock has shown: no purge can be due after it. */
  let latest = T0;
  let model: Row | null = null;
  /** Whether the injected failure is still to come, and whether the failed purge was followed by a retry. */
  let armed = failPurge;
  let inReset = false;
  let inFlight = 0;
  let purging = 0;
  /** The platform runs one alarm handler at a time: each alarm waits for the one before. */
  let alarms: Promise<unknown> = Promise.resolve();
  const violations: string[] = [];

  // Start over: a real reset, the frozen clock, and deleteAll() wrapped to inject the one failure
  // and to check, at the instant it is called, that a purge by the alarm deletes nothing live.
  figures.cases++;
  await runInDurableObject(stub(key), async (limiter: RateLimiter, state) => {
    const storage = state.storage as { deleteAll: DurableObjectStorage["deleteAll"] };
    const real = realDeleteAll(state.storage);
    storage.deleteAll = real;
    await limiter.reset();
    limiter.clock = () => now;
    storage.deleteAll = (options) => {
      if (armed) {
        armed = false;
        figures.injected++;
        return Promise.reject(new Error("injected: deleteAll() failed"));
      }
      if (!inReset && model !== null && model.expires + CLOCK_STEP_GRACE_MS > now) {
        violations.push(`purged live state at ${now - T0}: ${JSON.stringify(model)}`);
      }
      model = null;
      if (inReset) figures.resets++;
      else figures.purges++;
      purging++;
      return real(options).finally(() => purging--);
    };
    expect(objectRow(state)).toBeNull();
  });

  /** The object holds exactly the model's row, except one the alarm may have purged (due by `latest`). */
  const sync = (state: DurableObjectState) => {
    const held = objectRow(state);
    if (held === null && model !== null && model.expires + CLOCK_STEP_GRACE_MS <= latest) model = null;
    expect(held).toEqual(model);
  };
  const remaining = () => algorithm.check(policy, model?.state ?? null, now, 0).remaining;

  const body = async (o: Op, limiter: RateLimiter, state: DurableObjectState) => {
    // Another operation is suspended at an await (a reset's or an alarm's): this one runs inside it.
    if (inFlight++ > 0) figures.overlapped++;
    if (purging > 0) figures.duringPurge++;
    sync(state);
    switch (o.kind) {
      case "check": {
        const decision = algorithm.check(policy, model?.state ?? null, now, o.cost);
        const result = limiter.check([policy], o.cost);
        expect(result.allowed).toBe(decision.allowed);
        expect(result.policies[0]!.remaining).toBe(decision.remaining);
        if (decision.allowed) model = { state: decision.state, expires: decision.expiresAt };
        figures[decision.allowed ? "admitted" : "refused"]++;
        break;
      }
      case "refund": {
        const decision = algorithm.refund(policy, model?.state ?? null, now, o.cost);
        const result = limiter.refund([policy], o.cost);
        expect(result.policies[0]!.remaining).toBe(decision.remaining);
        // A refund never raises remaining above the limit (burst = limit here).
        expect(result.policies[0]!.remaining).toBeLessThanOrEqual(policy.limit);
        if (model !== null) model = { state: decision.state, expires: decision.expiresAt };
        figures.refunds++;
        break;
      }
      case "peek":
        expect(limiter.peek([policy]).policies[0]!.remaining).toBe(remaining());
        break;
      case "step": {
        const before = limiter.peek([policy]).policies[0]!.remaining;
        now = Math.max(now + o.by, latest - MAX_BACK_MS);
        latest = Math.max(latest, now);
        const after = limiter.peek([policy]).policies[0]!.remaining;
        // A step back never gives anything back.
        if (o.by < 0) figures.stepsBack++;
        if (o.by < 0) expect(after).toBeLessThanOrEqual(before);
        expect(after).toBe(remaining());
        break;
      }
      case "reset": {
        inReset = true;
        const wasArmed = armed;
        const done = limiter.reset();
        inReset = false;
        // deleteAll() was called synchronously: the model was cleared (or the failure injected) then.
        if (wasArmed && !armed) await expect(done).rejects.toThrow(/injected/);
        else await done;
        break;
      }
      case "alarm": {
        const info = { retryCount: o.retryCount, isRetry: o.retryCount > 0, scheduledTime: now };
        await limiter.alarm(info).catch((error: unknown) => {
          // The only failure is the injected one; the platform would retry this alarm.
          expect(String(error)).toMatch(/injected: deleteAll\(\) failed/);
        });
        break;
      }
    }
    sync(state);
    inFlight--;
  };

  // The scheduler decides the order the operations start in. Each is its own request to the
  // object (`runInDurableObject`): they interleave wherever the runtime lets another event in
  // while one awaits (a reset's or an alarm's), as concurrent requests to one object do.
  const request = (o: Op) => runInDurableObject(stub(key), (limiter: RateLimiter, state) => body(o, limiter, state));
  const done = ops.map((o) =>
    s.schedule(Promise.resolve(o.kind)).then(() => {
      if (o.kind !== "alarm") return request(o);
      alarms = alarms.then(() => request(o));
      return alarms;
    }),
  );
  await s.waitAll();
  await Promise.all(done);

  // After everything, the platform's retry of the alarm (the injected failure is spent or never
  // came): a key with live state keeps it, one without holds nothing once purged.
  armed = false;
  await runInDurableObject(stub(key), (limiter: RateLimiter, state) =>
    body({ kind: "alarm", retryCount: 1 }, limiter, state),
  );
  await runInDurableObject(stub(key), (limiter: RateLimiter, state) => {
    sync(state);
    expect(limiter.peek([policy]).policies[0]!.remaining).toBe(remaining());
  });
  expect(violations).toEqual([]);
}

/** The storage's own deleteAll(), bound, whatever a previous case left installed. */
const originals = new WeakMap<object, DurableObjectStorage["deleteAll"]>();
function realDeleteAll(storage: DurableObjectStorage): DurableObjectStorage["deleteAll"] {
  let real = originals.get(storage);
  if (!real) {
    real = storage.deleteAll.bind(storage);
    originals.set(storage, real);
  }
  return real;
}

describe("concurrent operations against one key, in any order", () => {
  for (const algorithm of ["fixed-window", "sliding-window", "gcra"] as const) {
    it(`never admits more than the limit, whatever the order of concurrent checks, refunds, peeks, resets, purges and clock steps (${algorithm})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          policyFor(algorithm),
          fc.array(op, { minLength: 1, maxLength: 16 }),
          fc.boolean(),
          fc.scheduler(),
          property,
        ),
        { numRuns: Math.max(10, Math.round(runs / 3)), seed },
      );
    });
  }
});
