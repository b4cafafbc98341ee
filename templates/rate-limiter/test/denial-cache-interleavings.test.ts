/**
 * The denial cache under interleavings: concurrent checks, and refunds, resets and override
 * changes made through the same isolate, ordered by fast-check's scheduler.
 *
 * - Through the middleware (`cache:` a shared `DenialCache`, refunds by `refundOn`, resets and
 *   override changes by routes of the same app wrapped in `forgetAround`), each call's arrival at
 *   the object and its answer's arrival back in the isolate are separate scheduled steps, so any
 *   order of tickets, remembers and forgets around the object's own order is reached. Every
 *   answer the cache gives is checked at that instant by asking the object the same check (a
 *   refused check consumes nothing): the object must refuse too.
 * - Through `RateLimiterService.check(request, { cache: true, timeout })`, with the object slow
 *   for some checks (it runs them late, or runs them at once and answers late, after the caller's
 *   timeout): every remembered answer is one the model (test/overrides-model.ts, checked against
 *   the object at each call it runs) refuses at that instant, and each check reaches the object
 *   once, however late. (A late answer is never remembered: the service's invocation ends with
 *   the timeout, and its wait for the object with it; the middleware remembers nothing on a
 *   timeout.)
 *
 * Runs `fcRuns / 2` and `fcRuns / 4` cases (at least 20), seed `fcSeed` (replay: see
 * test/reliability.test.ts).
 */
import { exports } from "cloudflare:workers";
import * as hostile from "../src/shared/hostile-input";
import { onError } from "../src/shared";
import fc from "fast-check";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DenialCache } from "../src/denial-cache";
import { denials } from "../src/limiter";
import { rateLimit } from "../src/middleware";
import { resolvePolicies, type Policy, type PolicyReference } from "../src/policy";
import type { Overrides, QuotaResult } from "../src/protocol";
import { stub, uniqueKey } from "./helpers";
import { KeyModel, installRecorder, overrideFigures, watchKey, watchedCase } from "./overrides-model";

const service = exports.RateLimiterService;
const { runs, seed, figures } = hostile.propertyRuns(
  "denial cache interleavings",
  overrideFigures({
    requests: 0,
    hits: 0,
    confirmed: 0,
    rpcHits: 0,
    refunds: 0,
    forgetsInFlight: 0,
    timeouts: 0,
    lateAnswers: 0,
  }),
);

const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
const pooledKey = hostile.namePool(() => uniqueKey("dci"), 16).take;

/**
 * Two per minute and three per half minute: a refused check waits up to a minute, long enough to
 * be remembered (a wait of 2 s or less never is).
 */
const REFERENCES: PolicyReference[] = [
  { name: "m", algorithm: "fixed-window", limit: 2, period: 60 },
  { name: "g", algorithm: "gcra", limit: 3, period: 30 },
];
const POLICIES: Policy[] = resolvePolicies(REFERENCES, new Map());

let observe: ReturnType<typeof installRecorder>;
beforeAll(() => {
  observe = installRecorder();
});
afterAll(() => vi.restoreAllMocks());

// Plain objects (fc.record's have no prototype, which RPC cannot send).
const override = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 5, max: 60 }))
  .map(([limit, period]) => ({ limit, period }));
const overrides: fc.Arbitrary<Overrides> = fc.oneof(
  override.map((m) => ({ m })),
  override.map((g) => ({ g })),
  fc.tuple(override, override).map(([m, g]) => ({ m, g })),
);

/** What both properties do besides their checks: change the key (reset, set or delete its overrides), or let time pass. */
type Change =
  { kind: "reset" } | { kind: "set"; overrides: Overrides } | { kind: "delete" } | { kind: "wait"; ms: number };

const changes: fc.WeightedArbitrary<Change>[] = [
  { weight: 1, arbitrary: fc.constant({ kind: "reset" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("set" as const), overrides }) },
  { weight: 1, arbitrary: fc.constant({ kind: "delete" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 20_000 }) }) },
];

// ---- Through the middleware ---------------------------------------------------------------------

type Step = { kind: "request"; cost: number; fails: boolean; times: number } | Change;

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 14,
    // A client sending `times` requests one after the other; one in four fails upstream (refunded).
    arbitrary: fc.record({
      kind: fc.constant("request" as const),
      cost: fc.integer({ min: 1, max: 2 }),
      fails: fc.nat(3).map((n) => n === 0),
      times: fc.integer({ min: 1, max: 3 }),
    }),
  },
  ...changes,
);

/**
 * Runs the scheduler until `done` settles, one step at a time, and after each step until every
 * call it started has reached the object and been answered: the object's calls run in the
 * scheduler's order, while everything the isolate does between them interleaves in any order.
 */
function driver(s: fc.Scheduler) {
  const calls = new Set<Promise<unknown>>();
  return {
    track<T>(call: Promise<T>): Promise<T> {
      calls.add(call);
      const forget = () => void calls.delete(call);
      call.then(forget, forget);
      return call;
    },
    async until(done: Promise<unknown>): Promise<void> {
      let finished = false;
      const settle = () => void (finished = true);
      done.then(settle, settle);
      for (let idle = 0; !finished;) {
        while (calls.size > 0) await Promise.allSettled([...calls]);
        if (s.count() > 0) {
          idle = 0;
          await s.waitOne();
          continue;
        }
        if (++idle > 10_000) throw new Error("nothing scheduled and nothing settled for 10 s");
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    },
  };
}

async function throughMiddleware(steps: Step[], s: fc.Scheduler) {
  const key = pooledKey();
  await watchedCase(key, observe, T0, figures, async ({ observer }) => {
    const drive = driver(s);
    const object = stub(key);
    const violations: string[] = [];
    /** What the isolate and the object did, for the message of a violation. */
    const trace: string[] = [];

    /** A call to the object: it reaches it at one scheduled step, and its answer the isolate at another. */
    const call = async <T>(label: string, send: () => Promise<T>): Promise<T> => {
      await s.schedule(Promise.resolve(`${label} reaches the object`));
      trace.push(`${label} reaches the object at ${observer.now - T0}`);
      const answer = await drive.track(send());
      trace.push(`${label} answered ${JSON.stringify(answer)?.slice(0, 200)}`);
      await s.schedule(Promise.resolve(`${label}'s answer reaches the isolate`));
      return answer;
    };

    /** The shared cache: every answer it gives is checked by asking the object, at that instant. */
    class Checked extends DenialCache {
      override remember(...args: Parameters<DenialCache["remember"]>) {
        trace.push(`remember cost ${args[2]} allowed ${args[3].allowed} ticket ${JSON.stringify(args[4])}`);
        super.remember(...args);
      }
      override forget(name: string) {
        trace.push("forget");
        super.forget(name);
      }
      override get(name: string, policies: unknown, cost: number): QuotaResult | null {
        const remembered = super.get(name, policies, cost);
        trace.push(`get cost ${cost} at ${observer.now - T0} -> ${remembered ? "HIT" : "miss"}`);
        if (remembered) {
          figures.hits++;
          // Nothing else is on its way to the object (see driver): it answers as of now.
          void drive.track(
            object.check(POLICIES, cost).then((truth) => {
              figures.confirmed++;
              if (truth.allowed) {
                violations.push(
                  `answered a denial of cost ${cost} at +${observer.now - T0} ms that the object admits, after:\n${trace.slice(-20).join("\n")}`,
                );
              }
            }),
          );
        }
        return remembered;
      }
    }
    const cache = new Checked(100, () => observer.now);
    const inFlight = { forgets: 0 };
    const forgetAround = <T>(change: () => Promise<T>) =>
      cache.forgetAround([key], async () => {
        inFlight.forgets++;
        try {
          return await change();
        } finally {
          inFlight.forgets--;
        }
      });

    const app = new Hono()
      .use(
        "/limited",
        rateLimit({
          policies: REFERENCES,
          key: () => key,
          cost: (c) => Number(c.req.header("x-cost")),
          check: (_c, request) => {
            if (inFlight.forgets > 0) figures.forgetsInFlight++;
            return call("check", () => object.check(POLICIES, request.cost ?? 1));
          },
          cache,
          refundOn: (res) => res.status >= 500,
          refund: (_c, _key, request) => {
            figures.refunds++;
            return call("refund", () => object.refund(POLICIES, request.cost ?? 1));
          },
        }),
      )
      .get("/limited", (c) => (c.req.header("x-fail") ? c.text("upstream failed", 500) : c.text("ok")))
      // Changes made by the same Worker, around the same cache (as a Worker sharing it would).
      .delete("/reset", async (c) => {
        await forgetAround(() => call("reset", () => object.reset()));
        return c.body(null, 204);
      })
      .put("/overrides", async (c) => {
        const body = await c.req.json<Overrides>();
        return c.json(await forgetAround(() => call("setOverrides", () => object.setOverrides(body))));
      })
      .delete("/overrides", async (c) => {
        await forgetAround(() => call("deleteOverrides", () => object.deleteOverrides()));
        return c.body(null, 204);
      });
    app.onError(onError);

    const perform = async (o: Step) => {
      switch (o.kind) {
        case "request": {
          const headers: Record<string, string> = { "x-cost": String(o.cost) };
          if (o.fails) headers["x-fail"] = "1";
          for (let i = 0; i < o.times; i++) {
            const response = await app.request("/limited", { headers });
            figures.requests++;
            expect([200, 429, 500]).toContain(response.status);
          }
          return;
        }
        case "reset":
          expect((await app.request("/reset", { method: "DELETE" })).status).toBe(204);
          return;
        case "set": {
          const response = await app.request("/overrides", { method: "PUT", body: JSON.stringify(o.overrides) });
          expect(response.status).toBe(200);
          return;
        }
        case "delete":
          expect((await app.request("/overrides", { method: "DELETE" })).status).toBe(204);
          return;
        case "wait":
          observer.now += o.ms;
          return;
      }
    };

    const done = Promise.all(steps.map((o) => s.schedule(Promise.resolve(o.kind)).then(() => perform(o))));
    await drive.until(done);
    await done;
    expect(violations).toEqual([]);
  });
}

describe("the denial cache with refunds, resets and override changes through the same isolate, in any order", () => {
  it("never answers a denial the object would not give at that instant, and loses no forget to a race (middleware)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 6, maxLength: 20 }), fc.scheduler(), throughMiddleware),
      { numRuns: Math.max(20, Math.round(runs / 2)), seed },
    );
    expect(figures.confirmed).toBeGreaterThan(0);
    expect(figures.forgetsInFlight).toBeGreaterThan(0);
  });
});

// ---- Through the RPC service, with timeouts --------------------------------------------------------

type Call =
  { kind: "check"; cost: number; onError: "allow" | "deny"; times: number } | { kind: "refund"; cost: number } | Change;

const rpcCall: fc.Arbitrary<Call> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("check" as const),
      cost: fc.integer({ min: 1, max: 2 }),
      onError: fc.constantFrom("allow" as const, "deny" as const),
      // One after the other: a later one may find what a late answer left in the cache.
      times: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("refund" as const), cost: fc.integer({ min: 1, max: 2 }) }) },
  ...changes,
);

/** The caller waits this long; a slow object answers after SLOW_MS. */
const TIMEOUT_MS = 5;
const SLOW_MS = 20;

async function throughService(calls: Call[], slowness: ("run" | "answer" | null)[], s: fc.Scheduler) {
  const key = pooledKey();
  await watchedCase(key, observe, T0, figures, async (watched) => {
    const { observer, model } = watched;
    const violations: string[] = [];

    // The object is slow for the checks drawn so, in the order checks reach it: it runs them late,
    // or at once and answers late (the denial may then predate a refund that lands meanwhile).
    let arrived = 0;
    observer.delay = (method) => {
      const slow = method === "check" ? slowness[arrived++ % slowness.length]! : null;
      if (slow === null) return null;
      figures.lateAnswers++;
      return { ms: SLOW_MS, then: slow };
    };

    // Every answer the isolate's cache gives is checked against the model as the object stands now.
    const get = denials.get.bind(denials);
    const spy = vi.spyOn(denials, "get").mockImplementation((name: string, policies: unknown, cost: number) => {
      const remembered = get(name, policies, cost);
      if (remembered && name === key) {
        figures.rpcHits++;
        const probe = new KeyModel();
        probe.rows = new Map(model.rows);
        probe.overrides = model.overrides;
        if (probe.check(POLICIES, cost, observer.now).allowed) {
          violations.push(`answered a denial of cost ${cost} at +${observer.now - T0} ms that the object admits`);
        }
      }
      return remembered;
    });

    let objectChecks = 0;
    let askedChecks = 0;
    const counting = watched.observer.call;
    observer.call = (method, args, run) => {
      if (method === "check") objectChecks++;
      return counting(method, args, run);
    };

    const perform = async (o: Call) => {
      switch (o.kind) {
        case "check":
          for (let i = 0; i < o.times; i++) {
            const answer = await service.check(
              { key, policies: REFERENCES, cost: o.cost },
              { cache: true, timeout: TIMEOUT_MS, onError: o.onError },
            );
            expect(answer.ok).toBe(true);
            if (!answer.ok) return;
            if (answer.unavailable) {
              // Timed out: the onError decision, without RateLimit fields; the object still answers later.
              figures.timeouts++;
              expect(answer).toMatchObject({ allowed: o.onError === "allow", policies: [], unavailable: "timeout" });
              askedChecks++;
            } else if (answer.cached) {
              expect(answer.allowed).toBe(false);
            } else {
              askedChecks++;
            }
            if (i + 1 < o.times) await new Promise((r) => setTimeout(r, SLOW_MS));
          }
          return;
        case "refund":
          expect((await service.refund(key, { policies: REFERENCES, cost: o.cost })).ok).toBe(true);
          return;
        case "reset":
          expect((await service.reset(key)).ok).toBe(true);
          return;
        case "set":
          expect(await service.setOverrides(key, o.overrides)).toMatchObject({ ok: true });
          return;
        case "delete":
          expect((await service.deleteOverrides(key)).ok).toBe(true);
          return;
        case "wait":
          observer.now += o.ms;
          return;
      }
    };

    try {
      const done = calls.map((o) => s.schedule(Promise.resolve(o.kind)).then(() => perform(o)));
      await s.waitAll();
      await Promise.all(done);
      // The slow checks run or answer after their callers gave up: wait for them.
      for (let i = 0; i < 100 && objectChecks < askedChecks; i++) await new Promise((r) => setTimeout(r, 10));
      if (arrived > 0) await new Promise((r) => setTimeout(r, 2 * SLOW_MS));
      // Each check that was not answered from memory reached the object exactly once, however late.
      expect(objectChecks).toBe(askedChecks);
      // What the cache still remembers is a denial the object gives now.
      for (const cost of [1, 2]) {
        const answer = await service.check({ key, policies: REFERENCES, cost }, { cache: true });
        if (answer.ok && answer.cached) expect(answer.allowed).toBe(false);
      }
    } finally {
      spy.mockRestore();
    }
    expect(violations).toEqual([]);
  });
}

describe("RateLimiterService.check with cache and timeout, with refunds, resets and override changes, in any order", () => {
  it("a check that times out while the object answers later counts once and leaves no stale denial in the cache", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rpcCall, { minLength: 2, maxLength: 12 }),
        fc.array(fc.constantFrom("run" as const, "answer" as const, null), { minLength: 12, maxLength: 12 }),
        fc.scheduler(),
        throughService,
      ),
      { numRuns: Math.max(20, Math.round(runs / 4)), seed },
    );
    expect(figures.timeouts).toBeGreaterThan(0);
    expect(figures.rpcHits).toBeGreaterThan(0);
  });
});

describe("a check that timed out, answered late by the object", () => {
  it("answers the onError decision at the timeout, is run once by the object, and after a refund through the isolate the next check is admitted", async () => {
    const key = uniqueKey("late");
    const hourly = { name: "h", algorithm: "fixed-window", limit: 1, period: 3600 } as const;
    const request = { key, policies: [hourly] };
    expect(await service.check(request, { cache: true })).toMatchObject({ ok: true, allowed: true });
    // The object refuses at once, but its answer takes 50 ms: the caller gives up after 5.
    const watched = watchKey(key, Date.now(), figures);
    const { observer } = watched;
    let checks = 0;
    const call = observer.call;
    observer.call = (method, args, run) => ((checks += method === "check" ? 1 : 0), call(method, args, run));
    observer.delay = (method) => (method === "check" ? { ms: 50, then: "answer" } : null);
    observe(observer);
    try {
      const late = await service.check(request, { cache: true, timeout: 5 });
      expect(late).toMatchObject({ ok: true, allowed: false, unavailable: "timeout" });
      // Meanwhile the unit is given back, through this isolate, and that is answered.
      expect(await service.refund(key, { policies: [hourly] })).toMatchObject({ ok: true });
      // The refused answer would arrive after the refund's: it predates the refund.
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      observe(null);
    }
    expect(checks).toBe(1); // the object ran the timed-out check once, and nothing asked it again
    expect(await service.check(request, { cache: true })).toMatchObject({ ok: true, allowed: true });
  });
});

// A minimal reproduction of what the middleware property found, kept as an example that fails
// without the fix (src/denial-cache.ts, `changing`).
describe("interleavings that once went wrong", () => {
  it("does not remember a denial answered while a refund through this isolate is on its way", async () => {
    const cache = new DenialCache(10, () => T0);
    const denied: QuotaResult = {
      allowed: false,
      policies: [
        { name: "m", algorithm: "fixed-window", limit: 2, period: 60, remaining: 0, reset: 60, retryAfter: 60 },
      ],
    };
    let answer!: () => void;
    // The refund forgets the key and is sent; a check sent after that is refused by the object...
    const refund = cache.forgetAround(["k"], () => new Promise<void>((resolve) => (answer = resolve)));
    const ticket = cache.ticket();
    // ...and its denial arrives before the refund's answer, though the refund may already have
    // given the units back in the object: it must not be answered from memory.
    cache.remember("k", ["m"], 1, denied, ticket);
    expect(cache.get("k", ["m"], 1)).toBeNull();
    answer();
    await refund;
    expect(cache.get("k", ["m"], 1)).toBeNull();
    // Once the refund has been answered, a new denial is remembered as usual.
    cache.remember("k", ["m"], 1, denied, cache.ticket());
    expect(cache.get("k", ["m"], 1)).not.toBeNull();
  });
});
