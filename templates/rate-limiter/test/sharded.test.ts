/**
 * Hot keys: the server's `SHARDS` setting spreads a key over N objects, each enforcing
 * limit / N. A request cannot choose its shards: the same key always lives in the same objects,
 * so however callers ask, the shards' quotas add up to at most the limit. Checks, refunds, peeks
 * and resets all reach the configured shards. The test configuration (wrangler.jsonc) spreads
 * every key starting with `hot:` over 4 shards.
 */
import { describe, expect, it } from "vitest";
import { api, check, json, uniqueKey } from "./helpers";

const policy = { name: "hot", algorithm: "fixed-window", limit: 100, period: 3600 };

interface Answer {
  allowed: boolean;
  shard?: { index: number; of: number };
  policies: { name: string; limit: number; remaining: number }[];
}

async function checks(key: string, count: number, shards?: (i: number) => number | undefined) {
  const responses = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const asked = shards?.(i);
      return check({ key, policies: [policy], ...(asked === undefined ? {} : { shards: asked }) });
    }),
  );
  return Promise.all(responses.map(async (r) => ({ status: r.status, body: (await r.json()) as Answer })));
}

describe("a key's shards come from the server's configuration", () => {
  it("admits at most 100 against a limit of 100 however callers choose shards", async () => {
    const asked = [undefined, 1, 2, 4];
    // An unsharded key: 400 checks asking for no, 1, 2 and 4 shards all reach the key's one object.
    const plain = await checks(uniqueKey(), 400, (i) => asked[i % 4]);
    expect(plain.filter((r) => r.body.allowed)).toHaveLength(100);
    // A key configured with 4 shards: 1,000 checks asking anything are spread over the same 4 objects.
    const hot = await checks(uniqueKey("hot:"), 1000, (i) => asked[i % 4]);
    const admitted = hot.filter((r) => r.body.allowed);
    expect(admitted).toHaveLength(100);
    for (let shard = 0; shard < 4; shard++) {
      expect(admitted.filter((r) => r.body.shard?.index === shard)).toHaveLength(25);
    }
  });

  it("refuses a request that asks for another shard count than the key's with 422 problem+json", async () => {
    const plain = await check({ key: uniqueKey(), policies: [policy], shards: 4 });
    expect(plain.status).toBe(422);
    expect(plain.headers.get("content-type")).toBe("application/problem+json");
    expect(await plain.json()).toMatchObject({
      type: "urn:durable-patterns:problem:shard-count-mismatch",
      status: 422,
      detail: expect.stringMatching(/is not sharded: the server's SHARDS setting decides a key's shards/),
    });
    const hot = uniqueKey("hot:");
    const wrong = await check({ key: hot, policies: [policy], shards: 2 });
    expect(wrong.status).toBe(422);
    expect(((await wrong.json()) as { detail: string }).detail).toMatch(/is spread over 4 shards/);
    // Asking for exactly the configured count (what an older client may still send) is accepted.
    expect((await check({ key: hot, policies: [policy], shards: 4 })).status).toBe(200);
    expect((await check({ key: uniqueKey(), policies: [policy], shards: 1 })).status).toBe(200);
  });

  it("can refuse early: a shard that is full refuses while the others have room", async () => {
    const key = uniqueKey("hot:");
    const small = { ...policy, limit: 8 };
    // 4 shards of 2. Checks stop the moment one is refused; the others may still hold quota.
    let admitted = 0;
    for (;;) {
      const body = (await (await check({ key, policies: [small] })).json()) as Answer;
      expect(body.shard?.of).toBe(4);
      if (!body.allowed) break;
      admitted++;
    }
    expect(admitted).toBeGreaterThanOrEqual(2);
    expect(admitted).toBeLessThanOrEqual(8);
  });

  it("refuses a policy that leaves a shard less than one unit", async () => {
    const response = await check({ key: uniqueKey("hot:"), policies: [{ ...policy, limit: 3 }] });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:too-many-shards" });
  });

  it("gives a refund back to the shard that admitted the check", async () => {
    const key = uniqueKey("hot:");
    const admitted = (await (await check({ key, policies: [policy], cost: 10 })).json()) as Answer;
    expect(admitted).toMatchObject({ allowed: true, policies: [{ limit: 25, remaining: 15 }] });
    const index = admitted.shard!.index;
    const refunded = await api(`/api/keys/${key}/refund`, json("POST", { policies: [policy], cost: 4, shard: index }));
    expect(refunded.status).toBe(200);
    expect(await refunded.json()).toMatchObject({
      key,
      shard: { index, of: 4 },
      policies: [{ name: "hot", limit: 25, remaining: 19 }],
    });
    // The whole key: 100 units over 4 shards, 6 in use.
    expect(await (await api(`/api/keys/${key}`)).json()).toMatchObject({
      policies: [{ name: "hot", limit: 100, remaining: 94 }],
    });
  });

  it("refuses a refund of a sharded key that does not name a shard it has", async () => {
    const key = uniqueKey("hot:");
    await check({ key, policies: [policy] });
    for (const body of [{ policies: [policy] }, { policies: [policy], shard: 4 }]) {
      const response = await api(`/api/keys/${key}/refund`, json("POST", body));
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({
        type: "urn:durable-patterns:problem:invalid-shard",
        detail: expect.stringMatching(/is spread over 4 shards: send the "shard" its check answered \(0 to 3\)/),
      });
    }
    const plain = await api(`/api/keys/${uniqueKey()}/refund`, json("POST", { policies: [policy], shard: 1 }));
    expect(plain.status).toBe(422);
  });

  it("peeks a sharded key as the sum of its shards", async () => {
    const key = uniqueKey("hot:");
    await checks(key, 40);
    const all = (await (await api(`/api/keys/${key}`)).json()) as Answer;
    expect(all.policies).toMatchObject([{ name: "hot", limit: 100, remaining: 60 }]);
    // A named policy is split the same way: api (GCRA 10/s, burst 20) is 4 shards of 2/s, burst 5.
    expect(await (await api(`/api/keys/${key}?policies=api`)).json()).toMatchObject({
      policies: [{ name: "api", limit: 8, remaining: 20 }],
    });
  });

  it("resets every shard of a key without being told how many there are", async () => {
    const key = uniqueKey("hot:");
    const before = await checks(key, 200);
    expect(before.filter((r) => r.body.allowed)).toHaveLength(100);
    expect((await api(`/api/keys/${key}`, { method: "DELETE" })).status).toBe(204);
    expect(await (await api(`/api/keys/${key}`)).json()).toEqual({ key, allowed: true, policies: [] });
    const after = await checks(key, 40);
    expect(after.every((r) => r.status === 200)).toBe(true);
    // Naming another count than the configured one is refused and resets nothing.
    const wrong = await api(`/api/keys/${key}?shards=2`, { method: "DELETE" });
    expect(wrong.status).toBe(422);
    expect(await (await api(`/api/keys/${key}`)).json()).toMatchObject({ policies: [{ remaining: 60 }] });
  });

  it("has no live quota socket for a sharded key: 422 problem+json", async () => {
    const key = uniqueKey("hot:");
    const response = await api(`/api/keys/${key}/websocket`, { headers: { upgrade: "websocket" } });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:sharded-key" });
  });
});
