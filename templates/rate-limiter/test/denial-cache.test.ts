/**
 * The denial cache (src/denial-cache.ts): a key refused with a wait is answered from the
 * isolate's memory until then, without calling its object, and a remembered answer is only ever
 * a denial the object would also give: checked against the object itself over random sequences
 * of checks, refunds and clock moves.
 */
import { exports } from "cloudflare:workers";
import * as hostile from "../src/shared/hostile-input";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DenialCache } from "../src/denial-cache";
import type { Policy } from "../src/policy";
import type { QuotaResult } from "../src/protocol";
import { api, check, cost, freezeClock, json, stub, uniqueKey } from "./helpers";

const service = exports.RateLimiterService;
const { runs, seed, figures } = hostile.propertyRuns("denial cache", { checks: 0, remembered: 0, confirmed: 0 });

/** One per hour: a refused check waits most of an hour, long enough to be remembered. */
const hourly = { name: "h", algorithm: "fixed-window", limit: 1, period: 3600 } as const;

const denied = (retryAfter: number): QuotaResult => ({
  allowed: false,
  policies: [
    { name: "h", algorithm: "fixed-window", limit: 1, period: 3600, remaining: 0, reset: retryAfter, retryAfter },
  ],
});

describe("DenialCache", () => {
  it("answers a remembered denial for the same policies and at least the same cost, with its waits shortened", () => {
    let now = 1_000_000;
    const cache = new DenialCache(10, () => now);
    cache.remember("k", ["h"], 2, denied(60), cache.ticket());
    expect(cache.get("k", ["h"], 1)).toBeNull(); // a smaller cost may fit
    expect(cache.get("k", ["other"], 2)).toBeNull();
    expect(cache.get("k", ["h"], 0)).toBeNull(); // cost 0 consumes nothing: always asked
    now += 10_500;
    expect(cache.get("k", ["h"], 3)?.policies[0]).toMatchObject({ retryAfter: 50, reset: 50 });
    expect(cache.hits).toBe(1);
  });

  it("remembers a denial until its wait less 1 s (rounding) and 1 s (clock skew), and not at all a wait of 2 s or less", () => {
    let now = 0;
    const cache = new DenialCache(10, () => now);
    cache.remember("short", ["h"], 1, denied(2), cache.ticket());
    expect(cache.size).toBe(0);
    cache.remember("k", ["h"], 1, denied(10), cache.ticket());
    now = 7_999;
    expect(cache.get("k", ["h"], 1)).not.toBeNull();
    now = 8_000;
    expect(cache.get("k", ["h"], 1)).toBeNull();
    expect(cache.size).toBe(0);
  });

  it("keeps at most maxKeys keys, dropping the least recently used", () => {
    const cache = new DenialCache(2, () => 0);
    cache.remember("a", ["h"], 1, denied(60), cache.ticket());
    cache.remember("b", ["h"], 1, denied(60), cache.ticket());
    cache.get("a", ["h"], 1); // a is now the most recent
    cache.remember("c", ["h"], 1, denied(60), cache.ticket());
    expect(cache.size).toBe(2);
    expect(cache.get("b", ["h"], 1)).toBeNull();
    expect(cache.get("a", ["h"], 1)).not.toBeNull();
    expect(cache.get("c", ["h"], 1)).not.toBeNull();
  });

  it("does not remember a denial sent before a forget: it may have been decided before units came back", () => {
    const cache = new DenialCache(10, () => 0);
    const ticket = cache.ticket();
    cache.forget("other"); // e.g. a refund of any key while the check was on its way
    cache.remember("k", ["h"], 1, denied(60), ticket);
    expect(cache.get("k", ["h"], 1)).toBeNull();
  });

  it("never remembers an admission, nor what a policy in shadow mode would refuse", () => {
    const cache = new DenialCache(10, () => 0);
    cache.remember("k", ["h"], 1, { ...denied(60), allowed: true }, cache.ticket());
    const shadow = denied(60);
    shadow.policies[0]!.mode = "shadow";
    cache.remember("k", ["h"], 1, shadow, cache.ticket());
    expect(cache.size).toBe(0);
  });
});

describe("check with cache: true (RPC)", () => {
  it("answers a refused key from memory, without calling its object, until a refund through this isolate", async () => {
    const key = uniqueKey();
    const request = { key, policies: [hourly] };
    expect(await service.check(request, { cache: true })).toMatchObject({ ok: true, allowed: true });
    const refused = await service.check(request, { cache: true });
    expect(refused).toMatchObject({ ok: true, allowed: false });
    expect(refused).not.toHaveProperty("cached");

    const spent = await cost(key, async () => {
      const remembered = await service.check(request, { cache: true });
      expect(remembered).toMatchObject({
        ok: true,
        allowed: false,
        cached: true,
        headers: { "Retry-After": expect.any(String) },
      });
    });
    expect(spent).toEqual({ statements: 0, rowsRead: 0, rowsWritten: 0 }); // the object was not asked

    // A refund gives the unit back: the next check asks the object again, and is admitted.
    expect(await service.refund(key, { policies: [hourly] })).toMatchObject({ ok: true });
    expect(await service.check(request, { cache: true })).toMatchObject({ ok: true, allowed: true });
  });

  it("forgets a key's denials on reset and on a change of its overrides", async () => {
    const key = uniqueKey();
    const request = { key, policies: [hourly] };
    await service.check(request, { cache: true });
    await service.check(request, { cache: true });
    expect(await service.check(request, { cache: true })).toMatchObject({ cached: true });
    await service.reset(key);
    expect(await service.check(request, { cache: true })).toMatchObject({ allowed: true });
    await service.check(request, { cache: true });
    expect(await service.check(request, { cache: true })).toMatchObject({ cached: true });
    await service.setOverrides(key, { h: { limit: 5, period: 3600 } });
    expect(await service.check(request, { cache: true })).toMatchObject({ allowed: true });
  });

  it("is not used by a check without cache: true", async () => {
    const key = uniqueKey();
    const request = { key, policies: [hourly] };
    await service.check(request, { cache: true });
    await service.check(request, { cache: true });
    const spent = await cost(key, () => service.check(request));
    expect(spent).toEqual({ statements: 1, rowsRead: 1, rowsWritten: 0 });
  });

  it("is used by POST /api/check when the DENIAL_CACHE var is true (off in wrangler.jsonc)", async () => {
    const key = uniqueKey();
    await check({ key, policies: [hourly] });
    await check({ key, policies: [hourly] });
    const spent = await cost(key, () => check({ key, policies: [hourly] }));
    expect(spent).toEqual({ statements: 1, rowsRead: 1, rowsWritten: 0 }); // asked: the var is false here
    expect(await (await api("/api/check", json("POST", { key, policies: [hourly] }))).json()).not.toHaveProperty(
      "cached",
    );
  });
});

describe("a remembered denial is one the object would also give", () => {
  /**
   * Random checks (costs 0 to 3), refunds and clock moves against one key: every answer the
   * cache gives is checked by asking the object the same question at the same instant (the cache
   * and the object share the frozen clock), and the object must refuse too. The object is asked
   * directly, as the limiter asks it, so no other isolate's cache is involved.
   */
  const policies: Policy[] = [
    { name: "g", algorithm: "gcra", limit: 3, period: 20, burst: 3 },
    { name: "w", algorithm: "sliding-window", limit: 4, period: 30 },
  ];
  const command = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("check" as const), cost: fc.integer({ min: 0, max: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("refund" as const), cost: fc.integer({ min: 1, max: 3 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 12_000 }) }),
    },
    // Small steps, so that checks land around the instant a remembered denial runs out.
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 1, max: 700 }) }) },
  );

  it("over random sequences of checks, refunds and waits", async () => {
    const T0 = Date.UTC(2030, 0, 1);
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 20, maxLength: 60 }), async (commands) => {
        const key = uniqueKey("cache");
        let now = T0;
        const setClock = await freezeClock(key, now);
        const cache = new DenialCache(100, () => now);
        const object = stub(key);
        for (const step of commands) {
          if (step.kind === "wait") {
            now += step.ms;
            await setClock(now);
          } else if (step.kind === "refund") {
            await cache.forgetAround([key], () => object.refund(policies, step.cost));
          } else {
            figures.checks++;
            const remembered = cache.get(key, policies, step.cost);
            if (remembered) {
              figures.confirmed++;
              const truth = await object.check(policies, step.cost);
              expect(truth.allowed).toBe(false);
              continue;
            }
            const ticket = cache.ticket();
            const result = await object.check(policies, step.cost);
            const before = cache.size;
            cache.remember(key, policies, step.cost, result, ticket);
            if (cache.size > before) figures.remembered++;
          }
        }
      }),
      { numRuns: Math.max(50, Math.floor(runs / 2)), seed },
    );
    expect(figures.confirmed).toBeGreaterThan(0); // the property did exercise remembered answers
  });
});
