/**
 * Idle keys delete themselves. A key's first check schedules one "expire" task in the alarm
 * queue; later checks write nothing for it. When it fires it looks at the stored expiry times:
 * still live (state is kept a minute past its expiry, for clocks that step back), it moves itself
 * to the latest one; run out, the object deletes all its storage, tables included, and the task
 * stays scheduled until that has succeeded. A key without quota state holds no storage at all.
 * Alarms are run by hand (runDurableObjectAlarm) with the object's clock moved, because
 * workerd's clock does not advance by itself in tests.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RateLimiter } from "../src/rate-limiter-object";
import {
  api,
  check,
  connect,
  cost,
  failNextDeleteAll,
  freezeClock,
  json,
  keyStorage,
  runAlarm,
  stub,
  uniqueKey,
} from "./helpers";

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
// GCRA 10 per minute: one unit is 6 s, so one check keeps the key's state for 6 s, and the key
// for a minute more (CLOCK_STEP_GRACE_MS).
const policy = { name: "p", algorithm: "gcra", limit: 10, period: 60 } as const;

describe("idle key cleanup", () => {
  it("schedules the purge once: a second check writes only its own row", async () => {
    const key = uniqueKey();
    await freezeClock(key, T0);
    const first = await cost(key, () => check({ key, policies: [policy] }));
    expect(first.rowsWritten).toBeGreaterThan(1); // the quota row plus the queue's task and alarm bookkeeping
    expect((await keyStorage(key)).alarm).not.toBeNull();
    const second = await cost(key, () => check({ key, policies: [policy] }));
    expect(second).toEqual({ statements: 2, rowsRead: 1, rowsWritten: 1 });
  });

  it("leaves nothing behind when a first check cannot schedule its purge: its row goes with it", async () => {
    const key = uniqueKey();
    await freezeClock(key, T0);
    await runInDurableObject(stub(key), (limiter: RateLimiter) => {
      // The queue writes its task through the object's own Sql: the task's INSERT fails, once.
      const query = limiter.sql.query.bind(limiter.sql);
      let failed = false;
      limiter.sql.query = (text, ...bindings) => {
        if (!failed && text.includes("INSERT INTO _alarm_queue_tasks")) {
          failed = true;
          throw new Error("injected: the purge task could not be written");
        }
        return query(text, ...bindings);
      };
      expect(() => limiter.check([policy], 1)).toThrow(/injected/);
    });
    // A row without its purge would never be deleted: the first check is one transaction.
    expect(await keyStorage(key)).toMatchObject({ quota: [], tasks: [] });
    expect((await check({ key, policies: [policy] })).status).toBe(200);
    expect(await keyStorage(key)).toMatchObject({ quota: ["p"], tasks: ["expire"] });
  });

  it("moves the purge to the latest expiry while the key is live, then deletes everything", async () => {
    const key = uniqueKey();
    const setClock = await freezeClock(key, T0);
    await check({ key, policies: [policy] }); // state until T0 + 6 s: purge due at T0 + 66 s
    await setClock(T0 + 3_000);
    await check({ key, policies: [policy] }); // state until T0 + 12 s

    await setClock(T0 + 66_000);
    expect(await runDurableObjectAlarm(stub(key))).toBe(true);
    // Still live: the task moved itself to T0 + 72 s and the state is untouched.
    expect(await keyStorage(key)).toMatchObject({ quota: ["p"], alarm: expect.any(Number), tasks: ["expire"] });
    expect(await (await api(`/api/keys/${key}`)).json()).toMatchObject({ policies: [{ name: "p", remaining: 10 }] });
    await setClock(T0 + 71_999);
    expect(await runDurableObjectAlarm(stub(key))).toBe(true);
    expect((await keyStorage(key)).quota).toEqual(["p"]);

    await setClock(T0 + 72_000);
    expect(await runDurableObjectAlarm(stub(key))).toBe(true);
    // Run out: deleteAll() removed every table, the task and the alarm; nothing comes back.
    expect(await keyStorage(key)).toEqual({ alarm: null, tables: [], quota: [], tasks: [] });
    expect(await runDurableObjectAlarm(stub(key))).toBe(false);
  });

  it("works normally after purging itself, and schedules a new purge", async () => {
    const key = uniqueKey();
    const setClock = await freezeClock(key, T0);
    await check({ key, policies: [policy] });
    await setClock(T0 + 66_000);
    await runDurableObjectAlarm(stub(key));
    expect((await keyStorage(key)).quota).toEqual([]);
    const response = await check({ key, policies: [policy] });
    expect(await response.json()).toMatchObject({ allowed: true, policies: [{ remaining: 9 }] });
    expect(await keyStorage(key)).toMatchObject({ quota: ["p"], alarm: expect.any(Number) });
  });

  it("deletes nothing early for a window policy: it lives until its window and the one after end, and a minute more", async () => {
    const key = uniqueKey();
    const setClock = await freezeClock(key, T0 + 10_000);
    await check({ key, policies: [{ name: "w", algorithm: "sliding-window", limit: 5, period: 60 }] });
    // The sliding window still weighs this window's count during the next one: state until T0 + 120 s.
    await setClock(T0 + 179_999);
    await runDurableObjectAlarm(stub(key));
    expect((await keyStorage(key)).quota).toEqual(["w"]);
    await setClock(T0 + 180_000);
    await runDurableObjectAlarm(stub(key));
    expect((await keyStorage(key)).quota).toEqual([]);
  });

  it("keeps the purge scheduled until deleteAll() has succeeded", async () => {
    const key = uniqueKey();
    const setClock = await freezeClock(key, T0);
    await check({ key, policies: [policy] }); // live until T0 + 6 s
    await setClock(T0 + 70_000); // run out (a minute's grace included)
    await failNextDeleteAll(key);
    expect(await runAlarm(key)).toMatch(/injected: deleteAll\(\) failed/);
    // Nothing was deleted, and the purge is still pending: its task and the alarm for it.
    expect(await keyStorage(key)).toMatchObject({ alarm: expect.any(Number), quota: ["p"], tasks: ["expire"] });
    // The platform retries the failed alarm invocation: this time the purge succeeds.
    expect(await runAlarm(key, 1)).toBeNull();
    expect(await keyStorage(key)).toEqual({ alarm: null, tables: [], quota: [], tasks: [] });
  });

  it("retries a failed purge from its own task after the platform has stopped retrying the alarm", async () => {
    const key = uniqueKey();
    const setClock = await freezeClock(key, T0);
    await check({ key, policies: [policy] });
    await setClock(T0 + 70_000);
    await failNextDeleteAll(key);
    expect(await runAlarm(key)).toMatch(/injected/);
    // No platform retry comes (it gave up, or the isolate was replaced); the queue's own alarm fires.
    await setClock(T0 + 130_000);
    expect(await runAlarm(key)).toBeNull();
    expect(await keyStorage(key)).toEqual({ alarm: null, tables: [], quota: [], tasks: [] });
  });
});

describe("keys without quota state", () => {
  it("a key with no quota state holds no rows and no tables", async () => {
    const key = uniqueKey();
    // Every read of a key never checked: peeks, a refund, a check of cost 0, a reset, a socket.
    expect((await api(`/api/keys/${key}`)).status).toBe(200);
    expect((await api(`/api/keys/${key}?policies=api,daily`)).status).toBe(200);
    expect((await api(`/api/keys/${key}/refund`, json("POST", { policies: ["api", policy] }))).status).toBe(200);
    expect((await check({ key, policies: [policy], cost: 0 })).status).toBe(200);
    expect((await api(`/api/keys/${key}`, { method: "DELETE" })).status).toBe(204);
    const watcher = await connect(key);
    expect(await watcher.next()).toEqual({ type: "quota", policies: [] });
    watcher.socket.close(1000, "done");
    await watcher.closed;
    // An alarm with nothing scheduled (a stray platform retry) creates nothing either.
    await runInDurableObject(stub(key), (limiter: RateLimiter) => limiter.alarm());
    expect(await keyStorage(key)).toEqual({ alarm: null, tables: [], quota: [], tasks: [] });
  });

  it("a purged key holds no tables until its next check", async () => {
    const key = uniqueKey();
    const setClock = await freezeClock(key, T0);
    await check({ key, policies: [policy] });
    expect(await keyStorage(key)).toMatchObject({ quota: ["p"], tasks: ["expire"] });
    await setClock(T0 + 70_000);
    expect(await runAlarm(key)).toBeNull();
    expect(await keyStorage(key)).toEqual({ alarm: null, tables: [], quota: [], tasks: [] });
    await api(`/api/keys/${key}`);
    expect((await keyStorage(key)).tables).toEqual([]);
    expect((await check({ key, policies: [policy] })).status).toBe(200);
    expect(await keyStorage(key)).toMatchObject({ quota: ["p"], tasks: ["expire"] });
  });
});
