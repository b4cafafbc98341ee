/**
 * Per-key overrides: `PUT /api/keys/:key/overrides` gives one key its own limit for a policy (a
 * paying customer, a blocked abuser: `limit: 0`), stored in the key's object; checks of that key
 * use it instead of the configured policy. It survives eviction, and the idle-key purge keeps it:
 * only a key without overrides is deleted whole.
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, check, cost, freezeClock, json, keyStorage, stub, uniqueKey } from "./helpers";

const policy = { name: "p", algorithm: "fixed-window", limit: 10, period: 60 } as const;
const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);

const put = (key: string, body: unknown) => api(`/api/keys/${key}/overrides`, json("PUT", body));
const get = (key: string) => api(`/api/keys/${key}/overrides`);
const remove = (key: string) => api(`/api/keys/${key}/overrides`, { method: "DELETE" });

describe("PUT, GET and DELETE /api/keys/:key/overrides", () => {
  it("stores a key's overrides, answers them, and removes them", async () => {
    const key = uniqueKey();
    expect(await (await get(key)).json()).toEqual({ key, overrides: {} });
    const stored = await put(key, { api: { limit: 1000, period: 1, burst: 2000 }, p: { limit: 0, period: 3600 } });
    expect(stored.status).toBe(200);
    const overrides = { api: { limit: 1000, period: 1, burst: 2000 }, p: { limit: 0, period: 3600 } };
    expect(await stored.json()).toEqual({ key, overrides });
    expect(await (await get(key)).json()).toEqual({ key, overrides });
    // A PUT replaces them all.
    expect(await (await put(key, { p: { limit: 3, period: 60 } })).json()).toEqual({
      key,
      overrides: { p: { limit: 3, period: 60 } },
    });
    expect((await remove(key)).status).toBe(204);
    expect(await (await get(key)).json()).toEqual({ key, overrides: {} });
  });

  it("refuses a bad body with 422 invalid-body, and a sharded key with 422 sharded-key", async () => {
    const key = uniqueKey();
    for (const body of [
      { p: { limit: -1, period: 60 } },
      { p: { limit: 1, period: 0 } },
      { p: { limit: 1, period: 60, algorithm: "gcra" } },
      { p: { limit: 1, period: 31_622_400, burst: 2 } }, // a full bucket would refill in two years
      { "bad name": { limit: 1, period: 60 } },
      Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`p${i}`, { limit: 1, period: 60 }])),
    ]) {
      const response = await put(key, body);
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:invalid-body" });
    }
    const sharded = await put("api:all", { api: { limit: 5, period: 1 } });
    expect(sharded.status).toBe(422);
    expect(await sharded.json()).toMatchObject({ type: "urn:durable-patterns:problem:sharded-key", shards: 16 });
    expect(await keyStorage(key)).toEqual({ alarm: null, tables: [], quota: [], tasks: [] });
  });
});

describe("checks of a key with an override", () => {
  it("use the override's limit and period instead of the configured policy's, and say so", async () => {
    const key = uniqueKey();
    await put(key, { p: { limit: 2, period: 60 } });
    for (let i = 0; i < 2; i++) expect((await check({ key, policies: [policy] })).status).toBe(200);
    const refused = await check({ key, policies: [policy] });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("RateLimit-Policy")).toBe('"p";q=2;w=60');
    expect(await refused.json()).toMatchObject({
      allowed: false,
      policies: [{ name: "p", limit: 2, period: 60, remaining: 0, overridden: true }],
    });
    // Another key keeps the configured policy.
    expect(await (await check({ key: uniqueKey(), policies: [policy] })).json()).toMatchObject({
      policies: [{ limit: 10, remaining: 9 }],
    });
    expect((await check({ key, policies: [policy] })).status).toBe(429);
  });

  it("are all refused under an override of limit 0 (blocked), each asked to wait the override's period", async () => {
    const key = uniqueKey();
    await put(key, { p: { limit: 0, period: 3600 } });
    const refused = await check({ key, policies: [policy], cost: 0 });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("3600");
    expect(await refused.json()).toMatchObject({
      policies: [{ name: "p", limit: 0, period: 3600, remaining: 0, retryAfter: 3600, overridden: true }],
    });
    // A refund gives nothing back to a blocked key; removing the override unblocks it.
    expect(await (await api(`/api/keys/${key}/refund`, json("POST", { policies: [policy] }))).json()).toMatchObject({
      policies: [{ remaining: 0, overridden: true }],
    });
    await remove(key);
    expect((await check({ key, policies: [policy] })).status).toBe(200);
  });

  it("survive eviction: the override is in the key's storage, not in memory", async () => {
    const key = uniqueKey();
    await put(key, { p: { limit: 1, period: 60 } });
    await check({ key, policies: [policy] });
    await evictDurableObject(stub(key));
    expect((await check({ key, policies: [policy] })).status).toBe(429);
    expect(await (await get(key)).json()).toEqual({ key, overrides: { p: { limit: 1, period: 60 } } });
  });

  it("read the override in the same statement as the state: a check reads 2 rows and writes 1", async () => {
    const key = uniqueKey();
    await put(key, { p: { limit: 5, period: 60 } });
    await check({ key, policies: [policy] });
    expect(await cost(key, () => check({ key, policies: [policy] }))).toEqual({
      statements: 2,
      rowsRead: 2,
      rowsWritten: 1,
    });
  });

  it("apply to a peek too", async () => {
    const key = uniqueKey();
    await put(key, { p: { limit: 4, period: 60 } });
    await check({ key, policies: [policy] });
    expect(await (await api(`/api/keys/${key}?policies=${encodeURIComponent("api")}`)).json()).toMatchObject({
      policies: [{ name: "api", limit: 10 }],
    });
    expect(await (await api(`/api/keys/${key}`)).json()).toMatchObject({
      policies: [{ name: "p", limit: 4, remaining: 3, overridden: true }],
    });
  });
});

describe("the idle-key purge and reset with overrides", () => {
  it("keeps a key's overrides when its state runs out, and deletes the rest (state row, task)", async () => {
    const key = uniqueKey();
    const setClock = await freezeClock(key, T0);
    await put(key, { p: { limit: 1, period: 60 } });
    await check({ key, policies: [policy] });
    expect(await keyStorage(key)).toMatchObject({ quota: ["p", "~p"], tasks: ["expire"] });
    // The window ends at T0 + 60 s (aligned to the epoch minute); kept a minute more for clock steps.
    await setClock(T0 + 180_000);
    expect(await runDurableObjectAlarm(stub(key))).toBe(true);
    expect(await keyStorage(key)).toMatchObject({ quota: ["~p"], tasks: [] });
    expect(await runDurableObjectAlarm(stub(key))).toBe(false); // nothing left to run
    expect(await (await get(key)).json()).toEqual({ key, overrides: { p: { limit: 1, period: 60 } } });
  });

  it("keeps them across a reset, which forgets the state only", async () => {
    const key = uniqueKey();
    await put(key, { p: { limit: 1, period: 60 } });
    await check({ key, policies: [policy] });
    expect((await api(`/api/keys/${key}`, { method: "DELETE" })).status).toBe(204);
    expect(await keyStorage(key)).toMatchObject({ quota: ["~p"] });
    expect((await check({ key, policies: [policy] })).status).toBe(200);
    expect((await check({ key, policies: [policy] })).status).toBe(429);
  });

  it("deletes a key whole when its last override is removed and it has no live state", async () => {
    const key = uniqueKey();
    await put(key, { p: { limit: 0, period: 60 } });
    await check({ key, policies: [policy] }); // refused: writes nothing
    await remove(key);
    expect(await keyStorage(key)).toEqual({ alarm: null, tables: [], quota: [], tasks: [] });
  });
});
