/**
 * Per-key overrides under faults: a storage fault during the purge of an idle key (its
 * `deleteAll()` when it has no overrides, the statement deleting its state rows when it has some),
 * `ctx.abort()` (`abortAllDurableObjects`) and eviction between an override change and a check,
 * and the platform's alarm retries (`retryCount`). Nothing half-done is ever visible: a failed
 * purge leaves the key exactly as it was, expire task and alarm included, so the retried alarm
 * purges it; the purge of a key with overrides deletes its state and keeps them; an override
 * change cut off by an abort is in force whole or not at all.
 *
 * The examples come first; then a property runs random sequences of those moves against the
 * model of test/overrides-model.ts (`fcRuns / 2` cases, at least 20; seed `fcSeed`).
 */
import { exports } from "cloudflare:workers";
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import * as hostile from "../src/shared/hostile-input";
import { once } from "../src/shared/testing";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import type { Overrides, QuotaResult } from "../src/protocol";
import type { RateLimiter } from "../src/rate-limiter-object";
import { api, check, failNextDeleteAll, freezeClock, json, keyStorage, runAlarm, stub, uniqueKey } from "./helpers";
import { KeyModel, installRecorder, overrideFigures, rowNames, shapeOf, watchedCase } from "./overrides-model";

const service = exports.RateLimiterService;
const { runs, seed, figures } = hostile.propertyRuns(
  "overrides faults",
  overrideFigures({ commands: 0, failedAlarms: 0, evictions: 0, aborts: 0 }),
);

const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
/** Fixed window, 10 per minute: one check keeps the key's state until the minute ends, and a minute more. */
const policy = { name: "p", algorithm: "fixed-window", limit: 10, period: 60 } as const;
const IDLE = T0 + 3 * 60_000;

/** Makes the next statement deleting the key's state rows (the purge of a key with overrides) throw. */
function failNextPurgeStatement(key: string) {
  return runInDurableObject(stub(key), (_limiter: RateLimiter, state) => {
    const sql = state.storage.sql as { exec: SqlStorage["exec"] };
    const exec = sql.exec.bind(state.storage.sql);
    const fails = once();
    sql.exec = ((query: string, ...bindings: unknown[]) => {
      if (query.startsWith("DELETE FROM quota WHERE name < ?") && fails()) {
        throw new Error("injected: the purge's statement failed");
      }
      return exec(query, ...bindings);
    }) as SqlStorage["exec"];
  });
}

const put = (key: string, body: Overrides) => api(`/api/keys/${key}/overrides`, json("PUT", body));
const overridesOf = async (key: string) =>
  ((await (await api(`/api/keys/${key}/overrides`)).json()) as { overrides: Overrides }).overrides;

describe("a storage fault during the purge of an idle key", () => {
  it("of a key with overrides rolls the purge back whole, and the platform's retry purges the state and keeps the overrides", async () => {
    const key = uniqueKey();
    const setClock = await freezeClock(key, T0);
    await put(key, { p: { limit: 3, period: 60 } });
    expect((await check({ key, policies: [policy] })).status).toBe(200);
    await setClock(IDLE);
    await failNextPurgeStatement(key);
    expect(await runAlarm(key)).toMatch(/injected: the purge's statement failed/);
    // Nothing half-done: the state row, the override, the expire task and its alarm are all there.
    expect(await keyStorage(key)).toMatchObject({ alarm: expect.any(Number), quota: ["p", "~p"], tasks: ["expire"] });
    expect(await runAlarm(key, 1)).toBeNull();
    expect(await keyStorage(key)).toMatchObject({ quota: ["~p"], tasks: [] });
    expect(await overridesOf(key)).toEqual({ p: { limit: 3, period: 60 } });
    // The override is still in force, counted from zero.
    await setClock(IDLE + 1);
    expect(await (await check({ key, policies: [policy] })).json()).toMatchObject({
      policies: [{ limit: 3, remaining: 2, overridden: true }],
    });
  });

  it("of a key without overrides deletes nothing, and overrides set before the platform's retry survive it", async () => {
    const key = uniqueKey();
    const setClock = await freezeClock(key, T0);
    expect((await check({ key, policies: [policy] })).status).toBe(200);
    await setClock(IDLE);
    await failNextDeleteAll(key);
    expect(await runAlarm(key)).toMatch(/injected: deleteAll\(\) failed/);
    expect(await keyStorage(key)).toMatchObject({ alarm: expect.any(Number), quota: ["p"], tasks: ["expire"] });
    // Between the failure and the retry, the key is given an override: the retry must keep it.
    await put(key, { p: { limit: 0, period: 3600 } });
    expect(await runAlarm(key, 1)).toBeNull();
    expect(await keyStorage(key)).toMatchObject({ quota: ["~p"], tasks: [] });
    expect(await overridesOf(key)).toEqual({ p: { limit: 0, period: 3600 } });
    expect((await check({ key, policies: [policy] })).status).toBe(429);
  });
});

describe("ctx.abort() between an override change and a check", () => {
  it("an override answered before the abort is in force for the next check", async () => {
    const key = uniqueKey();
    expect((await put(key, { p: { limit: 0, period: 3600 } })).status).toBe(200);
    await abortAllDurableObjects();
    const refused = await check({ key, policies: [policy] });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("3600");
    expect(await overridesOf(key)).toEqual({ p: { limit: 0, period: 3600 } });
  });

  it("an override change cut off by ctx.abort() half-way leaves the old overrides whole, in force for the next check", async () => {
    const before: Overrides = { p: { limit: 1, period: 60 }, api: { limit: 5, period: 1 } };
    const after: Overrides = { p: { limit: 4, period: 30 }, hourly: { limit: 9, period: 60 } };
    const key = uniqueKey();
    expect((await put(key, before)).status).toBe(200);
    // The object crashes (ctx.abort()) as it writes the new overrides' first row, the old ones deleted.
    await runInDurableObject(stub(key), (_limiter: RateLimiter, state) => {
      const sql = state.storage.sql as { exec: SqlStorage["exec"] };
      const exec = sql.exec.bind(state.storage.sql);
      const fails = once();
      sql.exec = ((query: string, ...bindings: unknown[]) => {
        if (query.includes("VALUES (?, 'override'") && fails()) state.abort("injected: crashed half-way");
        return exec(query, ...bindings);
      }) as SqlStorage["exec"];
    });
    expect((await put(key, after)).status).toBe(500);
    expect(await overridesOf(key)).toEqual(before);
    const result = (await (await check({ key, policies: [policy] })).json()) as QuotaResult;
    expect(result.policies[0]).toMatchObject({ limit: 1, period: 60, remaining: 0, overridden: true });
    // The change, sent again, is in force whole.
    expect((await put(key, after)).status).toBe(200);
    expect(await overridesOf(key)).toEqual(after);
  });
});

// ---- The property ---------------------------------------------------------------------------------

const override = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 60 }))
  .map(([limit, period]) => ({ limit, period }));

const command = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }).map((cost) => ({ kind: "check" as const, cost })) },
  { weight: 2, arbitrary: override.map((p) => ({ kind: "set" as const, overrides: { p } })) },
  { weight: 1, arbitrary: fc.constant({ kind: "delete" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reset" as const }) },
  {
    weight: 3,
    arbitrary: fc.integer({ min: 0, max: 3 }).map((retryCount) => ({ kind: "alarm" as const, retryCount })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom("deleteAll" as const, "purgeTransaction" as const)
      .map((purge) => ({ kind: "fault" as const, purge })),
  },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 150_000 }).map((by) => ({ kind: "step" as const, by })) },
  ...hostile.evictOrAbort,
);

const pooledKey = hostile.namePool(() => uniqueKey("ovf"), 16).take;

/** A key with state has its expire task (its purge) until the purge succeeds; one without, none. */
const expireTask = (model: KeyModel) => (model.rows.size > 0 ? ["expire"] : []);

describe("sequences of override changes, checks, resets and alarms with faults, evictions and aborts", () => {
  it("answer as the model with overrides says: a failed purge changes nothing, its retry purges the state, and the overrides are never lost", async () => {
    const observe = installRecorder();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 24, size: "medium" }), async (commands) => {
          const key = pooledKey();
          await watchedCase(key, observe, T0, figures, async (watched) => {
            const { observer, model } = watched;
            for (const c of commands) {
              figures.commands++;
              switch (c.kind) {
                case "check": {
                  const response = await check({ key, policies: [policy], cost: c.cost });
                  expect([200, 429]).toContain(response.status);
                  // The object's answer was checked against the model as it ran; the caller gets it.
                  expect(shapeOf((await response.json()) as QuotaResult)).toEqual(
                    JSON.parse(watched.given.checks.at(-1)!),
                  );
                  break;
                }
                case "set":
                  expect(await (await put(key, c.overrides)).json()).toEqual({ key, overrides: c.overrides });
                  break;
                case "delete": {
                  const status = (await api(`/api/keys/${key}/overrides`, { method: "DELETE" })).status;
                  expect(status === 204 || (status === 500 && figures.injected > 0)).toBe(true);
                  break;
                }
                case "reset": {
                  const status = (await api(`/api/keys/${key}`, { method: "DELETE" })).status;
                  expect(status === 204 || (status === 500 && figures.injected > 0)).toBe(true);
                  break;
                }
                case "alarm": {
                  const error = await runAlarm(key, c.retryCount);
                  if (error !== null) {
                    // Only the injected fault fails it, and nothing of the purge is left half-done:
                    // every row is still there, and so is the expire task the retry runs (a key
                    // with no state, reset before, has none: a spurious alarm found nothing to do).
                    figures.failedAlarms++;
                    expect(error).toMatch(/injected/);
                    expect(await keyStorage(key)).toMatchObject({ quota: rowNames(model), tasks: expireTask(model) });
                  }
                  break;
                }
                case "fault":
                  watched.faults[c.purge] = true;
                  break;
                case "step":
                  observer.now += c.by;
                  break;
                case "evict":
                case "abort":
                  await hostile.platformMove(c.kind, stub(key), figures);
                  break;
              }
              // After every move, the overrides are the model's (checked in the object by the recorder).
              expect((await service.getOverrides(key)).ok).toBe(true);
            }
            // Past every expiry the alarm purges (failing if a fault is still armed), and the
            // platform's retry purges the state and keeps the overrides.
            observer.now += 10 * 60_000;
            const error = await runAlarm(key);
            if (error !== null) {
              figures.failedAlarms++;
              expect(error).toMatch(/injected/);
              expect(await keyStorage(key)).toMatchObject({ quota: rowNames(model), tasks: expireTask(model) });
            }
            watched.faults.deleteAll = false;
            watched.faults.purgeTransaction = false;
            expect(await runAlarm(key, 1)).toBeNull();
            expect(await service.getOverrides(key)).toEqual({ ok: true, overrides: model.overrides });
            expect((await keyStorage(key)).quota).toEqual(rowNames(model));
          });
        }),
        { numRuns: Math.max(20, Math.round(runs / 2)), seed },
      );
    } finally {
      vi.restoreAllMocks();
    }
    expect(figures.failedAlarms).toBeGreaterThan(0);
    expect(figures.purgesKeepingOverrides).toBeGreaterThan(0);
  });
});
