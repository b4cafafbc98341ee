/**
 * Sharded counters spread a hot counter's increments over COUNTER_SHARDS objects (16 in
 * wrangler.jsonc) and read the sum. Totals stay exact.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, json, uniqueName } from "./helpers";

interface Sharded {
  name: string;
  value: number;
  shards: number;
}

describe("sharded counters", () => {
  it("reads 0 for a sharded counter never touched", async () => {
    const name = uniqueName();
    expect(await (await api(`/api/sharded-counters/${name}`)).json()).toEqual({ name, value: 0, shards: 16 });
  });

  it("sums 1,000 concurrent increments exactly across the shards", async () => {
    const name = uniqueName();
    const responses = await Promise.all(
      Array.from({ length: 1000 }, () => api(`/api/sharded-counters/${name}/increment`, { method: "POST" })),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    const total = (await (await api(`/api/sharded-counters/${name}`)).json()) as Sharded;
    expect(total).toEqual({ name, value: 1000, shards: 16 });
  });

  it("spreads increments over many shards rather than one", async () => {
    const name = uniqueName();
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => api(`/api/sharded-counters/${name}/increment`, { method: "POST" })),
    );
    const used = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as { shard: number }).shard)));
    // With 200 uniform picks over 16 shards, fewer than 8 distinct shards has probability < 1e-40.
    expect(used.size).toBeGreaterThanOrEqual(8);
    expect([...used].every((shard) => shard >= 0 && shard < 16)).toBe(true);
  });

  it("answers an increment with the shard it landed on and that shard's value", async () => {
    const name = uniqueName();
    const response = await api(`/api/sharded-counters/${name}/increment`, json("POST", { by: 5 }));
    const body = (await response.json()) as { shard: number; shardValue: number; shards: number };
    expect(body).toEqual({ name, shard: expect.any(Number), shardValue: 5, shards: 16 });
    expect(await env.COUNTER.getByName(`${name}~${body.shard}`).value()).toBe(5);
  });

  it("includes decrements in the total", async () => {
    const name = uniqueName();
    await Promise.all([
      ...Array.from({ length: 30 }, () => api(`/api/sharded-counters/${name}/increment`, json("POST", { by: 3 }))),
      ...Array.from({ length: 20 }, () => api(`/api/sharded-counters/${name}/decrement`, json("POST", { by: 2 }))),
    ]);
    expect(((await (await api(`/api/sharded-counters/${name}`)).json()) as Sharded).value).toBe(50);
  });

  it("keeps sharded and plain counters of the same name apart", async () => {
    const name = uniqueName();
    await api(`/api/sharded-counters/${name}/increment`, json("POST", { by: 7 }));
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 0 });
  });

  it("refuses a step larger than one shard may hold with 422", async () => {
    const name = uniqueName();
    const response = await api(
      `/api/sharded-counters/${name}/increment`,
      json("POST", { by: Number.MAX_SAFE_INTEGER }),
    );
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ limit: Math.floor(Number.MAX_SAFE_INTEGER / 16) });
    expect(((await (await api(`/api/sharded-counters/${name}`)).json()) as Sharded).value).toBe(0);
  });

  it("refuses bad names and bodies like plain counters do", async () => {
    expect((await api(`/api/sharded-counters/a.b/increment`, { method: "POST" })).status).toBe(400);
    expect((await api(`/api/sharded-counters/ok/increment`, json("POST", { by: 0 }))).status).toBe(422);
  });
});
