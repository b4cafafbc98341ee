/**
 * Hot keys: `shards: N` spreads one key over N objects, each enforcing limit/N. The shards'
 * quotas add up to at most the limit, so it never over-admits; it can refuse early while
 * another shard still has room (the trade-off for N times the throughput).
 */
import { describe, expect, it } from "vitest";
import { api, check, uniqueKey } from "./helpers";

const policy = { name: "hot", algorithm: "fixed-window", limit: 100, period: 3600 };

describe("sharded keys", () => {
  it("never admits more than the limit: 1,000 checks over 4 shards of 25 admit at most 100", async () => {
    const key = uniqueKey();
    const responses = await Promise.all(
      Array.from({ length: 1000 }, () => check({ key, policies: [policy], shards: 4 })),
    );
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as {
      allowed: boolean;
      shard: { index: number; of: number };
      policies: { limit: number }[];
    }[];
    const admitted = bodies.filter((b) => b.allowed);
    expect(admitted.length).toBeLessThanOrEqual(100);
    // 1,000 random picks over 4 shards fill every shard (each gets ~250 requests for 25 places).
    expect(admitted.length).toBe(100);
    for (let shard = 0; shard < 4; shard++) {
      expect(admitted.filter((b) => b.shard.index === shard)).toHaveLength(25);
    }
    expect(bodies[0]).toMatchObject({ shard: { of: 4 }, policies: [{ limit: 25 }] });
  });

  it("can refuse early: a shard that is full refuses while the others have room", async () => {
    const key = uniqueKey();
    const small = { ...policy, limit: 8 };
    // 4 shards of 2. Checks stop the moment one is refused; the others may still hold quota.
    let admitted = 0;
    for (;;) {
      const body = (await (await check({ key, policies: [small], shards: 4 })).json()) as { allowed: boolean };
      if (!body.allowed) break;
      admitted++;
    }
    // At least one whole shard (2) was used, never more than the limit (8); typically fewer than 8.
    expect(admitted).toBeGreaterThanOrEqual(2);
    expect(admitted).toBeLessThanOrEqual(8);
  });

  it("refuses a split that leaves a shard less than one unit", async () => {
    const response = await check({ key: uniqueKey(), policies: [{ ...policy, limit: 3 }], shards: 4 });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:too-many-shards" });
  });

  it("resets every shard of a key", async () => {
    const key = uniqueKey();
    await Promise.all(Array.from({ length: 200 }, () => check({ key, policies: [policy], shards: 4 })));
    expect((await api(`/api/keys/${key}?shards=4`, { method: "DELETE" })).status).toBe(204);
    const after = await Promise.all(Array.from({ length: 4 }, (_, i) => api(`/api/keys/${key}~${i}`)));
    // `~` is not allowed in keys, so shards are not reachable as keys; reset proves itself by admitting again.
    expect(after.every((r) => r.status === 400)).toBe(true);
    const responses = await Promise.all(
      Array.from({ length: 40 }, () => check({ key, policies: [policy], shards: 4 })),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
  });
});
