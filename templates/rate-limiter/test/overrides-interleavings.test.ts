/**
 * Per-key overrides under interleavings: concurrent checks of configured policies, refunds,
 * setOverrides, deleteOverrides, getOverrides and resets of one key (over HTTP and RPC), its expire
 * alarm (`runDurableObjectAlarm`, and the platform's retries with `retryCount`), evictions and
 * clock steps, started in an order fast-check's scheduler decides, with the key's next
 * `deleteAll()` failing once in some cases.
 *
 * The object is single-threaded, so the order in which it runs the calls defines the model's
 * order. That order is observed inside the object (test/overrides-model.ts: a spy on the class,
 * which runs in the tests' isolate), and each call is checked against the model at that instant:
 * every check's verdict and remaining units are those of the override in force when it ran, a
 * getOverrides answers the model's overrides, and no `deleteAll()` is ever called on a key with
 * overrides (the purge keeps them). Each caller's answer must be one the object gave. After all
 * calls have settled and the alarm has been retried, the overrides and the quota rows are exactly
 * the model's: nothing lost, nothing half-done.
 *
 * Runs `fcRuns / 2` cases (at least 20), seed `fcSeed` (replay: see test/reliability.test.ts).
 */
import { exports } from "cloudflare:workers";
import * as hostile from "../src/shared/hostile-input";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Overrides, QuotaResult } from "../src/protocol";
import { api, check, json, keyStorage, runAlarm, stub, uniqueKey } from "./helpers";
import { installRecorder, overrideFigures, rowNames, shapeOf, watchedCase } from "./overrides-model";

const service = exports.RateLimiterService;
const { runs, seed, figures } = hostile.propertyRuns("overrides interleavings", overrideFigures({ evictions: 0 }));

/** Far from the real clock: the alarm the queue arms never fires by itself during a case. */
const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
const pooledKey = hostile.namePool(() => uniqueKey("ovi"), 16).take;

/** Configured policies (wrangler.jsonc): `demo` GCRA 5 per 10 s, `hourly` sliding, `daily` fixed. */
const NAMES = ["demo", "hourly", "daily"] as const;

type Via = "http" | "rpc";

const via = fc.constantFrom<Via>("http", "rpc");
const override = fc
  .record({
    limit: fc.integer({ min: 0, max: 3 }),
    period: fc.integer({ min: 1, max: 30 }),
    burst: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  })
  .map(({ burst, ...o }) => (burst === undefined ? o : { ...o, burst }));
const overrides: fc.Arbitrary<Overrides> = fc
  .subarray([...NAMES], { minLength: 1 })
  .chain((names) =>
    fc.tuple(...names.map(() => override)).map((os) => Object.fromEntries(names.map((n, i) => [n, os[i]!]))),
  );
const policies = fc.constantFrom<string[]>(
  ["demo"],
  ["hourly"],
  ["daily"],
  ["demo", "hourly", "daily"],
  ["daily", "demo"],
);

const op = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant("check" as const), policies, cost: fc.integer({ min: 0, max: 3 }), via }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("refund" as const), policies, cost: fc.integer({ min: 1, max: 2 }) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("set" as const), overrides, via }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), via }) },
  { weight: 1, arbitrary: fc.constant({ kind: "get" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reset" as const), via }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("alarm" as const), retryCount: fc.integer({ min: 0, max: 2 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "evict" as const }) },
  // Forwards past every expiry and purge time (periods up to an hour for `hourly`, 30 s overridden).
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("step" as const), by: fc.integer({ min: 0, max: 200_000 }) }) },
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

let observe: ReturnType<typeof installRecorder>;
beforeAll(() => {
  observe = installRecorder();
});
afterAll(() => vi.restoreAllMocks());

async function property(ops: Op[], failPurge: boolean, s: fc.Scheduler) {
  const key = pooledKey();
  await watchedCase(key, observe, T0, figures, async (watched) => {
    const { model, observer } = watched;
    watched.faults.deleteAll = failPurge;
    const received = { checks: [] as string[], refunds: [] as string[] };

    /** Calls that failed: only the one the injected fault made fail may. */
    const failures: string[] = [];
    /**
     * A DELETE of `path` or the RPC `method` of the same removal (the key's overrides, or its state),
     * each of which purges the key: a failure is recorded, not thrown, for the fault may cause one.
     */
    const removal = async (via: Via, path: string, method: "deleteOverrides" | "reset") => {
      if (via === "http") {
        const response = await api(path, { method: "DELETE" });
        if (response.status !== 204) failures.push(`DELETE ${path}: ${response.status}`);
      } else {
        await service[method](key).then(
          (a) => expect(a.ok).toBe(true),
          (error: unknown) => failures.push(`${method}: ${String(error)}`),
        );
      }
    };
    const perform = async (o: Op): Promise<void> => {
      switch (o.kind) {
        case "check": {
          const body = { key, policies: o.policies, cost: o.cost };
          if (o.via === "http") {
            const response = await check(body);
            expect([200, 429]).toContain(response.status);
            received.checks.push(JSON.stringify(shapeOf((await response.json()) as QuotaResult)));
          } else {
            const answer = await service.check(body);
            if (!answer.ok) throw new Error(answer.detail);
            received.checks.push(JSON.stringify(shapeOf(answer)));
          }
          return;
        }
        case "refund": {
          const answer = await service.refund(key, { policies: o.policies, cost: o.cost });
          if (!answer.ok) throw new Error(answer.detail);
          received.refunds.push(JSON.stringify(shapeOf(answer)));
          return;
        }
        case "set": {
          const stored =
            o.via === "http"
              ? await api(`/api/keys/${key}/overrides`, json("PUT", o.overrides)).then(async (r) => {
                  expect(r.status).toBe(200);
                  return ((await r.json()) as { overrides: Overrides }).overrides;
                })
              : await service.setOverrides(key, o.overrides).then((a) => (a.ok ? a.overrides : a));
          expect(stored).toEqual(o.overrides);
          return;
        }
        case "delete":
          return removal(o.via, `/api/keys/${key}/overrides`, "deleteOverrides");
        case "get":
          expect((await service.getOverrides(key)).ok).toBe(true);
          return;
        case "reset":
          return removal(o.via, `/api/keys/${key}`, "reset");
        case "alarm": {
          const error = await runAlarm(key, o.retryCount);
          if (error !== null) failures.push(`alarm: ${error}`);
          return;
        }
        case "evict":
          figures.evictions++;
          await hostile.evict(stub(key));
          return;
        case "step":
          observer.now += o.by;
          return;
      }
    };

    // The scheduler decides the order the calls start in; each is its own request to the object.
    const done = ops.map((o) => s.schedule(Promise.resolve(o.kind)).then(() => perform(o)));
    await s.waitAll();
    await Promise.all(done);

    // Only the call the injected fault hit may have failed, and only with it.
    expect(failures.length).toBeLessThanOrEqual(failPurge ? 1 : 0);
    // Every answer a caller got is one the object gave (each once).
    expect(received.checks.sort()).toEqual(watched.given.checks.sort());
    expect(received.refunds.sort()).toEqual(watched.given.refunds.sort());

    // Two days on, every state has run out (`daily` is a fixed window of a day): the platform retries
    // the alarm (a failed one, or one never run), which purges the state and keeps the overrides.
    watched.faults.deleteAll = false;
    observer.now += 2 * 86_400_000;
    expect(await runAlarm(key, 1)).toBeNull();
    const answer = await service.getOverrides(key);
    expect(answer).toEqual({ ok: true, overrides: model.overrides });
    expect((await keyStorage(key)).quota).toEqual(rowNames(model));
  });
}

describe("per-key overrides under concurrent calls, in any order", () => {
  it("every check is decided by the override in force when it ran, overrides are never lost, and the purge never deletes a key with overrides", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), fc.boolean(), fc.scheduler(), property),
      { numRuns: Math.max(20, Math.round(runs / 2)), seed },
    );
    expect(figures.refusedByOverride).toBeGreaterThan(0);
    expect(figures.purgesKeepingOverrides).toBeGreaterThan(0);
  });
});
