/**
 * Idle keys delete themselves. A key's first check schedules one "expire" task in the alarm
 * queue; later checks write nothing for it. When it fires it looks at the stored expiry times:
 * still live, it moves itself to the latest one; run out, the object deletes all its storage.
 * Alarms are run by hand (runDurableObjectAlarm) with the object's clock moved, because
 * workerd's clock does not advance by itself in tests.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RateLimiter } from "../src/rate-limiter-object";
import { api, check, cost, freezeClock, stub, uniqueKey } from "./helpers";

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
// GCRA 10 per minute: one unit is 6 s, so one check keeps the key live for 6 s.
const policy = { name: "p", algorithm: "gcra", limit: 10, period: 60 };

function storage(key: string) {
  return runInDurableObject(stub(key), async (_limiter: RateLimiter, state) => ({
    alarm: await state.storage.getAlarm(),
    tables: state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\' ORDER BY name",
      )
      .toArray()
      .map((row) => row.name),
    quotaRows: state.storage.sql.exec("SELECT * FROM quota").toArray().length,
  }));
}

describe("idle key cleanup", () => {
  it("schedules the purge once: a second check writes only its own row", async () => {
    const key = uniqueKey();
    await freezeClock(key, T0);
    const first = await cost(key, () => check({ key, policies: [policy] }));
    expect(first.rowsWritten).toBeGreaterThan(1); // the quota row plus the queue's task and alarm bookkeeping
    expect((await storage(key)).alarm).not.toBeNull();
    expect(await cost(key, () => check({ key, policies: [policy] }))).toEqual({
      statements: 2,
      rowsRead: 1,
      rowsWritten: 1,
    });
  });

  it("moves the purge to the latest expiry while the key is live, then deletes everything", async () => {
    const key = uniqueKey();
    const setClock = await freezeClock(key, T0);
    await check({ key, policies: [policy] }); // live until T0 + 6 s
    await setClock(T0 + 3_000);
    await check({ key, policies: [policy] }); // live until T0 + 12 s

    await setClock(T0 + 6_000);
    expect(await runDurableObjectAlarm(stub(key))).toBe(true);
    // Still live: the task moved itself to T0 + 12 s and the state is untouched.
    expect(await storage(key)).toMatchObject({ quotaRows: 1, alarm: expect.any(Number) });
    expect(await (await api(`/api/keys/${key}`)).json()).toMatchObject({ policies: [{ name: "p", remaining: 9 }] });

    await setClock(T0 + 12_000);
    expect(await runDurableObjectAlarm(stub(key))).toBe(true);
    // Run out: deleteAll() removed every table and the alarm; the schema is back, empty.
    expect(await storage(key)).toEqual({ alarm: null, tables: ["_migrations", "quota"], quotaRows: 0 });
    expect(await runDurableObjectAlarm(stub(key))).toBe(false);
  });

  it("works normally after purging itself, and schedules a new purge", async () => {
    const key = uniqueKey();
    const setClock = await freezeClock(key, T0);
    await check({ key, policies: [policy] });
    await setClock(T0 + 6_000);
    await runDurableObjectAlarm(stub(key));
    expect((await storage(key)).quotaRows).toBe(0);
    const response = await check({ key, policies: [policy] });
    expect(await response.json()).toMatchObject({ allowed: true, policies: [{ remaining: 9 }] });
    expect(await storage(key)).toMatchObject({ quotaRows: 1, alarm: expect.any(Number) });
  });

  it("deletes nothing early for a window policy: it lives until its window and the one after end", async () => {
    const key = uniqueKey();
    const setClock = await freezeClock(key, T0 + 10_000);
    await check({ key, policies: [{ name: "w", algorithm: "sliding-window", limit: 5, period: 60 }] });
    // The sliding window still weighs this window's count during the next one: live until T0 + 120 s.
    await setClock(T0 + 119_999);
    await runDurableObjectAlarm(stub(key));
    expect((await storage(key)).quotaRows).toBe(1);
    await setClock(T0 + 120_000);
    await runDurableObjectAlarm(stub(key));
    expect((await storage(key)).quotaRows).toBe(0);
  });
});
