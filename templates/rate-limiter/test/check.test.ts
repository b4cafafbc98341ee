/**
 * POST /api/check and the key routes, end to end through the Worker: named and inline policies,
 * several policies at once, cost, the IETF RateLimit headers, peek, refund and reset.
 */
import { describe, expect, it } from "vitest";
import { api, check, freezeClock, json, uniqueKey } from "./helpers";

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const perMinute = { name: "per-minute", algorithm: "fixed-window", limit: 3, period: 60 };

describe("POST /api/check", () => {
  it("admits with 200 and the IETF RateLimit headers, refuses with 429 and Retry-After", async () => {
    const key = uniqueKey();
    await freezeClock(key, T0 + 20_000);
    for (let i = 0; i < 3; i++) expect((await check({ key, policies: [perMinute] })).status).toBe(200);
    const refused = await check({ key, policies: [perMinute] });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("RateLimit-Policy")).toBe('"per-minute";q=3;w=60');
    expect(refused.headers.get("RateLimit")).toBe('"per-minute";r=0;t=40');
    expect(refused.headers.get("Retry-After")).toBe("40");
    expect(await refused.json()).toEqual({
      allowed: false,
      policies: [
        {
          name: "per-minute",
          algorithm: "fixed-window",
          limit: 3,
          period: 60,
          remaining: 0,
          reset: 40,
          retryAfter: 40,
        },
      ],
    });
  });

  it("checks named policies from the POLICIES var, several at once, one header item each", async () => {
    const key = uniqueKey();
    await freezeClock(key, T0);
    const response = await check({ key, policies: ["api", "hourly"] });
    expect(response.status).toBe(200);
    expect(response.headers.get("RateLimit-Policy")).toBe('"api";q=10;w=1, "hourly";q=1000;w=3600');
    // api: GCRA 10/s with a burst of 20, one used (full again in 100 ms, rounded up to 1 s).
    expect(response.headers.get("RateLimit")).toBe('"api";r=19;t=1, "hourly";r=999;t=7200');
    expect(response.headers.get("Retry-After")).toBeNull();
  });

  it("admits only if every policy admits, and then consumes from all of them", async () => {
    const key = uniqueKey();
    await freezeClock(key, T0);
    const small = { name: "small", algorithm: "gcra", limit: 2, period: 60 };
    const large = { name: "large", algorithm: "gcra", limit: 100, period: 60 };
    await check({ key, policies: [small, large] });
    await check({ key, policies: [small, large] });
    const refused = await check({ key, policies: [small, large] });
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as { policies: { name: string; remaining: number }[] };
    // The refused check consumed nothing from "large" either: 98 left, not 97.
    expect(body.policies.map((p) => [p.name, p.remaining])).toEqual([
      ["small", 0],
      ["large", 98],
    ]);
    expect(refused.headers.get("RateLimit")).toBe('"small";r=0;t=60, "large";r=98;t=2');
    expect(refused.headers.get("Retry-After")).toBe("30");
  });

  it("counts a request by its cost, and a cost of 0 checks without consuming", async () => {
    const key = uniqueKey();
    await freezeClock(key, T0);
    const policy = { name: "tokens", algorithm: "sliding-window", limit: 1000, period: 60 };
    const spent = await (await check({ key, policies: [policy], cost: 600 })).json();
    expect(spent).toMatchObject({ allowed: true, policies: [{ remaining: 400 }] });
    const probe = await check({ key, policies: [policy], cost: 0 });
    expect(await probe.json()).toMatchObject({ allowed: true, policies: [{ remaining: 400 }] });
    const tooMuch = await check({ key, policies: [policy], cost: 401 });
    expect(tooMuch.status).toBe(429);
    expect(await (await check({ key, policies: [policy], cost: 400 })).json()).toMatchObject({
      allowed: true,
      policies: [{ remaining: 0 }],
    });
  });

  it("names an inline policy sent without a name after its parameters", async () => {
    const response = await check({ key: uniqueKey(), policies: [{ algorithm: "gcra", limit: 5, period: 10 }] });
    expect(response.headers.get("RateLimit-Policy")).toBe('"gcra-5-per-10s";q=5;w=10');
  });
});

describe("GET /api/keys/:key (peek)", () => {
  it("shows every policy the key has state for, consuming nothing", async () => {
    const key = uniqueKey();
    await freezeClock(key, T0);
    await check({ key, policies: [perMinute], cost: 2 });
    for (let i = 0; i < 2; i++) {
      const response = await api(`/api/keys/${key}`);
      expect(await response.json()).toEqual({
        key,
        allowed: true,
        policies: [
          {
            name: "per-minute",
            algorithm: "fixed-window",
            limit: 3,
            period: 60,
            remaining: 1,
            reset: 60,
            retryAfter: 0,
          },
        ],
      });
      expect(response.headers.get("RateLimit")).toBe('"per-minute";r=1;t=60');
    }
  });

  it("shows named policies a key never used as full", async () => {
    const response = await api(`/api/keys/${uniqueKey()}?policies=api,daily`);
    expect(await response.json()).toMatchObject({
      policies: [
        { name: "api", remaining: 20, reset: 0, retryAfter: 0 },
        { name: "daily", remaining: 10000, reset: 0, retryAfter: 0 },
      ],
    });
  });
});

describe("POST /api/keys/:key/refund", () => {
  it("gives units back after a request that should not count", async () => {
    const key = uniqueKey();
    await freezeClock(key, T0);
    await check({ key, policies: [perMinute], cost: 3 });
    const refunded = await api(`/api/keys/${key}/refund`, json("POST", { policies: [perMinute], cost: 2 }));
    expect(refunded.status).toBe(200);
    expect(await refunded.json()).toMatchObject({ key, policies: [{ name: "per-minute", remaining: 2 }] });
    expect((await check({ key, policies: [perMinute], cost: 2 })).status).toBe(200);
  });
});

describe("DELETE /api/keys/:key (reset)", () => {
  it("forgets the key's state: it starts with a full quota", async () => {
    const key = uniqueKey();
    await check({ key, policies: [perMinute], cost: 3 });
    expect((await check({ key, policies: [perMinute] })).status).toBe(429);
    expect((await api(`/api/keys/${key}`, { method: "DELETE" })).status).toBe(204);
    expect(await (await api(`/api/keys/${key}`)).json()).toEqual({ key, allowed: true, policies: [] });
    expect((await check({ key, policies: [perMinute] })).status).toBe(200);
  });
});
