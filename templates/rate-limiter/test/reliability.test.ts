/**
 * Property-based reliability: random well- and ill-formed HTTP requests (with and without the
 * token), random WebSocket frames, and random sequences of checks, refunds, resets and clock
 * moves (forwards and backwards) with evictions and aborts in between, checked against a model
 * built on the pure algorithms in which a key's window never moves back: the object adds
 * nothing and loses nothing.
 *
 * Runs `fcRuns` cases per property (a few hundred in `pnpm test`; `pnpm test:soak` runs 10,000)
 * with the seed `fcSeed`, printed below, so any failure can be replayed:
 * `FC_SEED=<seed> FC_RUNS=<runs> pnpm --filter rate-limiter test test/reliability.test.ts`.
 */
import { env } from "cloudflare:workers";
import * as hostile from "../src/shared/hostile-input";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ALGORITHMS, COLUMNS, type StateColumns } from "../src/algorithms";
import { namedPolicies, resolvePolicies, type Policy } from "../src/policy";
import { CheckBody, RefundBody, type PolicyQuota } from "../src/protocol";
import { TOKEN, api, check, connect, freezeClock, json, stub, uniqueKey, type Client } from "./helpers";

const { runs, seed, figures } = hostile.propertyRuns("reliability", {
  requests: 0,
  accepted: 0,
  limited: 0,
  refused: 0,
  frames: 0,
  sequences: 0,
  commands: 0,
  evictions: 0,
  aborts: 0,
  clockStepsBack: 0,
});

/**
 * The objects' clocks are frozen at an instant far from the real one: an alarm the queue arms
 * at a real time then never finds work due while a test has the clock unfrozen (eviction resets
 * it to `Date.now`, as it resets any field).
 */
const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);

/** Keys are drawn from a small pool and reset at the start of each case. */
const pooledKey = hostile.namePool(() => uniqueKey("pool")).take;

async function resetKey(key: string) {
  expect((await api(`/api/keys/${key}`, { method: "DELETE" })).status).toBe(204);
}

// ---- The model --------------------------------------------------------------------------------

/** What the key's object stores: per policy name, the policy last written and its state. */
type Model = Map<string, { policy: Policy; state: StateColumns }>;

/** A stored row counts only for the same algorithm (the object ignores another's state). */
const stateFor = (model: Model, policy: Policy) => {
  const row = model.get(policy.name);
  return row && row.policy.algorithm === policy.algorithm ? row.state : null;
};

/**
 * The instant a policy is decided at. A key's window never moves back: when the clock has stepped
 * back before the start of the window a window algorithm has counted in (`windowStart`), the
 * model decides as at that start, in that window. GCRA takes the clock as it is.
 */
const at = (policy: Policy, state: StateColumns | null, now: number) => {
  if (policy.algorithm === "gcra" || state === null) return now;
  const { windowStart } = COLUMNS[policy.algorithm].read(state);
  return windowStart > now ? windowStart : now;
};

const remainingOf = (policy: Policy, state: StateColumns | null, now: number) =>
  ALGORITHMS[policy.algorithm].check(policy, state, at(policy, state, now), 0).remaining;

/** A check: admitted only if every policy admits, and only then consumed. */
function modelCheck(model: Model, policies: Policy[], cost: number, now: number) {
  const decisions = policies.map((p) => {
    const state = stateFor(model, p);
    return ALGORITHMS[p.algorithm].check(p, state, at(p, state, now), cost);
  });
  const allowed = decisions.every((d) => d.allowed);
  const remaining = policies.map((p, i) =>
    allowed || !decisions[i]!.allowed ? decisions[i]!.remaining : remainingOf(p, stateFor(model, p), now),
  );
  if (allowed && cost > 0) policies.forEach((p, i) => model.set(p.name, { policy: p, state: decisions[i]!.state }));
  return { allowed, remaining };
}

/** A refund: gives units back to the policies that have state; creates nothing. */
function modelRefund(model: Model, policies: Policy[], cost: number, now: number) {
  const decisions = policies.map((p) => {
    const state = stateFor(model, p);
    return ALGORITHMS[p.algorithm].refund(p, state, at(p, state, now), cost);
  });
  policies.forEach((p, i) => {
    if (model.has(p.name)) model.set(p.name, { policy: p, state: decisions[i]!.state });
  });
  return decisions.map((d) => d.remaining);
}

/** What a peek of every stored policy shows, as the object lists them (by name). */
function modelPeek(model: Model, now: number) {
  return [...model.values()]
    .sort((a, b) => (a.policy.name < b.policy.name ? -1 : 1))
    .map(({ policy, state }) => ({
      name: policy.name,
      limit: policy.limit,
      remaining: remainingOf(policy, state, now),
    }));
}

const shape = (quotas: PolicyQuota[]) => quotas.map(({ name, limit, remaining }) => ({ name, limit, remaining }));

async function peekAll(key: string) {
  const response = await api(`/api/keys/${key}`);
  expect(response.status).toBe(200);
  return shape(((await response.json()) as { policies: PolicyQuota[] }).policies);
}

const configured = namedPolicies(env.POLICIES);

// ---- Generators -------------------------------------------------------------------------------

const hostileKey = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 80 }),
  fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 20 }),
  fc.constantFrom("x".repeat(257), "a b", "a~1", "..", "", "ip:::1", "user:42", "%", "\u0000", "k\u007f"),
);
const hostilePathKey = fc.oneof(
  hostileKey.filter((k) => k.length > 0).map(hostile.encodeUtf8),
  fc.constantFrom("%FF", "%C0%80", "%ED%A0%80", "%", "%zz", "a%2Fb", "%2e%2e", "a~1"),
);

/** Any strange number, and the limits of a policy: a limit over 10^9, a period over a year. */
const strangeNumber = fc.oneof(
  hostile.strangeNumber,
  fc.integer({ min: -10, max: 10 }),
  fc.constantFrom(1_000_000_001, 366 * 24 * 3600 + 1),
);

const P0: Policy = { name: "p0", algorithm: "fixed-window", limit: 5, period: 3600 };

const policyRef = fc.oneof(
  { weight: 4, arbitrary: fc.constant<unknown>(P0) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>("api", "hourly", "daily", "demo", "nope", "", "a,b") },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        name: fc.constantFrom("p0", "p1", "p2"),
        algorithm: fc.constantFrom("gcra", "sliding-window", "fixed-window"),
        limit: fc.integer({ min: 1, max: 10 }),
        period: fc.integer({ min: 1, max: 100 }),
      },
      { requiredKeys: ["algorithm", "limit", "period"] },
    ),
  },
  fc.record(
    {
      name: fc.oneof(fc.constantFrom("p0", 'a"b', "x".repeat(65)), fc.string({ maxLength: 8 })),
      algorithm: fc.constantFrom("gcra", "sliding-window", "fixed-window", "leaky", ""),
      limit: strangeNumber,
      period: strangeNumber,
      burst: strangeNumber,
      extra: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

/** A body field: hostile.mostly valid, sometimes anything. */
const field = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 5, arbitrary: valid as fc.Arbitrary<unknown> }, strangeNumber, fc.jsonValue({ maxDepth: 1 }));

/** A check or refund body; the tracked key is filled in per case. */
const body = fc.oneof(
  // Valid checks of the tracked key, so that admitted and limited checks are common enough for
  // the model to bite.
  {
    weight: 6,
    arbitrary: fc.record({
      key: fc.constant(null),
      policies: fc.oneof(
        { weight: 3, arbitrary: fc.constant([P0]) },
        fc.constant([P0, "api"]),
        fc.constant([{ ...P0, algorithm: "gcra" }]),
      ),
      cost: fc.integer({ min: 0, max: 5 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        key: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, hostileKey),
        policies: fc.oneof(
          { weight: 6, arbitrary: fc.array(policyRef, { minLength: 1, maxLength: 3 }) },
          fc.constant([]),
          fc.array(fc.constant(P0), { minLength: 11, maxLength: 11 }),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        cost: field(fc.integer({ min: 0, max: 6 })),
        shards: field(fc.constantFrom(1, 1, 1, 2, 4, 64, 65)),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: ["key", "policies"] },
    ),
  },
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.uint8Array({ maxLength: 64 }),
  fc.constant({ key: null, policies: [P0], pad: "x".repeat(5_000) }),
  fc.constant(undefined),
  fc.constant(""),
);

const auth = fc.oneof(
  { weight: 20, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
  fc.constantFrom(
    "",
    "Bearer wrong",
    "Bearer",
    `bearer ${TOKEN}`,
    `Bearer  ${TOKEN}`,
    `Bearer ${TOKEN} extra`,
    `Basic ${btoa(`x:${TOKEN}`)}`,
    `Bearer ${TOKEN}x`,
    `Bearer ${"t".repeat(5_000)}`,
  ),
);

const endpoint = hostile.endpoints(
  ["POST check", "POST check", "GET peek", "POST refund", "DELETE reset", "GET websocket", "GET demo"],
  ["nope"],
  6,
);

const query = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  fc.constantFrom("policies=p0", "policies=p0,api", "policies=api,api", "policies=", "policies=nope", "x=1"),
  fc.constantFrom("shards=1", "shards=2", "shards=64", "shards=65", "shards=0", "shards=1.5", "shards=%FF"),
  fc.constantFrom(`token=${TOKEN}`, "token=wrong", "token="),
  fc.string({ unit: "binary", maxLength: 30 }).map((s) => `policies=${hostile.encodeUtf8(s)}`),
);

const request = fc.record({
  endpoint,
  trackedPath: hostile.mostly(true),
  pathKey: hostilePathKey,
  query,
  auth,
  upgrade: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, fc.constantFrom("websocket", "h2c")),
  // The WebSocket route hostile.mostly gets a real upgrade, so accepted sockets are common.
  upgradeSocket: hostile.mostly(true),
  contentType: hostile.contentType,
  body,
  initial: fc.integer({ min: 0, max: 5 }),
});

// ---- Properties -------------------------------------------------------------------------------

describe("any request, however malformed, with or without the token", () => {
  it("never answers 5xx; refusals are problem+json and change nothing; acceptances match the model", async () => {
    await fc.assert(
      fc.asyncProperty(request, async ({ endpoint: { method: asked, route }, ...r }) => {
        // workerd sends a request carrying `Upgrade: websocket` as a GET, whatever its method
        // (a DELETE with that header is answered as a peek): model what arrives.
        const upgrade = route === "websocket" && r.upgradeSocket ? "websocket" : r.upgrade;
        const method = upgrade === "websocket" && asked !== "HEAD" ? "GET" : asked;
        const key = pooledKey();
        await resetKey(key);
        await freezeClock(key, T0);
        const model: Model = new Map();
        const initial = modelCheck(model, [P0], r.initial, T0);
        expect((await (await check({ key, policies: [P0], cost: r.initial })).json()) as unknown).toMatchObject({
          allowed: initial.allowed,
        });
        expect(await peekAll(key)).toEqual(modelPeek(model, T0));

        const sent = bodyFor(route, key, r.body);
        const pathKey = r.trackedPath ? key : r.pathKey;
        const path = {
          check: "/api/check",
          peek: `/api/keys/${pathKey}`,
          refund: `/api/keys/${pathKey}/refund`,
          reset: `/api/keys/${pathKey}`,
          websocket: `/api/keys/${pathKey}/websocket`,
          demo: "/demo",
          nope: `/api/keys/${pathKey}/nope`,
        }[route]!;
        const headers: Record<string, string> = { authorization: r.auth };
        if (upgrade !== undefined) headers.upgrade = upgrade;
        const response = await api(
          `${path}${r.query ? `?${r.query}` : ""}`,
          hostile.requestInit(asked, r.contentType, sent, headers),
        );
        figures.requests++;
        expect(response.status).toBeLessThan(500);

        const isCheck = method === "POST" && route === "check";
        if (response.status < 300 || (isCheck && response.status === 429 && !isProblem(response))) {
          figures.accepted++;
          if (response.status === 429) figures.limited++;
          const search = new URLSearchParams(r.query);
          // Peek and reset are two methods on one path.
          const onKey = route === "peek" || route === "reset";
          if (isCheck) {
            const parsed = CheckBody.parse(JSON.parse(sent as string));
            if (parsed.key === key) {
              const policies = resolvePolicies(parsed.policies, configured);
              const expected = modelCheck(model, policies, parsed.cost, T0);
              const result = (await response.json()) as { allowed: boolean; policies: PolicyQuota[] };
              expect(result.allowed).toBe(expected.allowed);
              expect(response.status).toBe(expected.allowed ? 200 : 429);
              expect(result.policies.map((p) => p.remaining)).toEqual(expected.remaining);
            }
          } else if (r.trackedPath && method === "POST" && route === "refund") {
            const parsed = RefundBody.parse(JSON.parse(sent as string));
            const expected = modelRefund(model, resolvePolicies(parsed.policies, configured), parsed.cost, T0);
            const result = (await response.json()) as { policies: PolicyQuota[] };
            expect(result.policies.map((p) => p.remaining)).toEqual(expected);
          } else if (r.trackedPath && method === "DELETE" && onKey) {
            if (Number(search.get("shards") ?? 1) === 1) model.clear();
          } else if (r.trackedPath && method === "GET" && onKey && !search.has("policies")) {
            expect(shape(((await response.json()) as { policies: PolicyQuota[] }).policies)).toEqual(
              modelPeek(model, T0),
            );
          } else if (response.webSocket) {
            const watcher = response.webSocket;
            const first = new Promise<unknown>((resolve) =>
              watcher.addEventListener("message", (event) => resolve(JSON.parse(event.data as string))),
            );
            watcher.accept();
            const quota = (await first) as { type: string; policies: PolicyQuota[] };
            expect(quota.type).toBe("quota");
            if (r.trackedPath) expect(shape(quota.policies)).toEqual(modelPeek(model, T0));
            watcher.close(1000, "done");
          }
        } else {
          figures.refused++;
          expect(response.webSocket).toBeNull();
          await hostile.expectProblem(response, method);
        }
        // Whatever was asked, the key is exactly where the model says.
        expect(await peekAll(key)).toEqual(modelPeek(model, T0));
      }),
      { numRuns: runs, seed },
    );
    // The property is only meaningful if both branches were exercised. (Limited checks are a few
    // percent of cases, too few to require in 200; the sequences below limit plenty.)
    expect(figures.accepted).toBeGreaterThan(0);
    expect(figures.refused).toBeGreaterThan(0);
  });
});

/**
 * The bytes sent: a generated check body gets the tracked key where it has none, and a refund
 * body is the same fields without `key` and `shards` (which a refund does not take).
 */
function bodyFor(route: string, key: string, body: unknown): string | Uint8Array | undefined {
  if (body === undefined || typeof body === "string" || body instanceof Uint8Array) return body;
  if (typeof body === "object" && body !== null && "key" in body && "policies" in body) {
    const { key: own, shards, ...rest } = body as { key: unknown; shards?: unknown };
    if (route === "refund") return JSON.stringify(rest);
    return JSON.stringify({ ...rest, key: own === null ? key : own, ...(shards === undefined ? {} : { shards }) });
  }
  return JSON.stringify(body);
}

function isProblem(response: Response) {
  return response.headers.get("content-type") === "application/problem+json";
}

// ---- WebSocket frames -------------------------------------------------------------------------

const frame = fc.oneof(
  { weight: 2, arbitrary: fc.constant<string | Uint8Array>("ping") },
  fc.constantFrom("PING", "ping ", "pong", "", "{}", '{"type":"ping"}', '{"type":"check","cost":1}'),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: "binary", maxLength: 100 }),
  fc.uint8Array({ maxLength: 64 }),
  fc.constant("x".repeat(100_000)),
);

describe("any WebSocket frame but ping", () => {
  it("closes the watcher with 1003 and changes nothing; ping is answered with pong", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(frame, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 5 }),
        async (frames, used) => {
          const key = pooledKey();
          await resetKey(key);
          await freezeClock(key, T0);
          const model: Model = new Map();
          modelCheck(model, [P0], used, T0);
          await check({ key, policies: [P0], cost: used });
          const watcher = await connect(key);
          expect(await watcher.next()).toEqual({ type: "quota", policies: expect.any(Array) });
          let open = true;
          for (const sent of frames) {
            figures.frames++;
            watcher.socket.send(sent);
            if (sent === "ping") {
              expect(await watcher.next()).toBe("pong");
            } else {
              expect((await watcher.closed).code).toBe(1003);
              open = false;
              break;
            }
          }
          expect(await peekAll(key)).toEqual(modelPeek(model, T0));
          if (open) {
            watcher.socket.close(1000, "done");
            await watcher.closed;
          }
        },
      ),
      { numRuns: runs, seed },
    );
  });
});

// ---- Command sequences with faults --------------------------------------------------------------

const policyArb = fc.record({
  algorithm: fc.constantFrom("gcra" as const, "sliding-window" as const, "fixed-window" as const),
  limit: fc.integer({ min: 1, max: 8 }),
  period: fc.integer({ min: 1, max: 20 }),
});

const command = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant("check"), cost: fc.integer({ min: 0, max: 3 }), advance: fc.nat(4000) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("refund"), cost: fc.integer({ min: 1, max: 3 }), advance: fc.nat(4000) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("peek"), advance: fc.nat(4000) }) },
  // The clock steps back (NTP, another isolate's clock) by up to 25 s: across window boundaries
  // of every period drawn (1 to 20 s), and less than the minute a purge waits past expiry.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("back"), by: fc.integer({ min: 1, max: 25_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reset") }) },
  ...hostile.evictOrAbort,
);

describe("sequences of checks, refunds, resets and clock moves with evictions and aborts", () => {
  it("answer exactly as the algorithms predict with windows that never move back: an admitted check is never forgotten, and the watcher follows or resyncs", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(policyArb, { minLength: 1, maxLength: 3 }),
        fc.array(command, { minLength: 1, maxLength: 20 }),
        async (defs, commands) => {
          const key = pooledKey();
          await resetKey(key);
          const policies: Policy[] = defs.map((d, i) => ({ name: `p${i}`, ...d }));
          const model: Model = new Map();
          let now = T0;
          const setClock = await freezeClock(key, now);
          let watcher: Client = await connect(key);
          expect(await watcher.next()).toEqual({ type: "quota", policies: [] });
          figures.sequences++;

          for (const c of commands) {
            figures.commands++;
            if (c.kind === "evict" || c.kind === "abort") {
              await hostile.platformMove(c.kind, stub(key), figures);
              // The clock is a field: a new instance has lost it, as any memory.
              await setClock(now);
              // Evicted, the watcher's socket hibernates with the object and must keep receiving quotas.
              if (c.kind === "evict") continue;
              // An aborted object drops its sockets: the watcher sees a close it can act on,
              // reconnects, and the first quota it gets is where the key stands.
              expect((await watcher.closed).code).not.toBe(1000);
              watcher = await connect(key);
              expect(shape(((await watcher.next()) as { policies: PolicyQuota[] }).policies)).toEqual(
                modelPeek(model, now),
              );
              continue;
            }
            if (c.kind === "back") {
              figures.clockStepsBack++;
              const before = await peekAll(key);
              expect(before).toEqual(modelPeek(model, now));
              now -= c.by;
              await setClock(now);
              const after = await peekAll(key);
              // A step back never gives anything back: remaining only goes up by time, refund or reset.
              after.forEach((quota, i) => expect(quota.remaining).toBeLessThanOrEqual(before[i]!.remaining));
              expect(after).toEqual(modelPeek(model, now));
              continue;
            }
            if (c.kind === "reset") {
              await resetKey(key);
              model.clear();
              expect(await watcher.next()).toEqual({ type: "quota", policies: [] });
              continue;
            }
            now += c.advance;
            await setClock(now);
            if (c.kind === "peek") {
              expect(await peekAll(key)).toEqual(modelPeek(model, now));
            } else if (c.kind === "check") {
              const capacity = Math.min(...policies.map((p) => p.limit));
              const response = await check({ key, policies, cost: c.cost });
              if (c.cost > capacity) {
                expect(response.status).toBe(422);
                continue;
              }
              const expected = modelCheck(model, policies, c.cost, now);
              const body = (await response.json()) as { allowed: boolean; policies: PolicyQuota[] };
              expect(body.allowed).toBe(expected.allowed);
              expect(response.status).toBe(expected.allowed ? 200 : 429);
              expect(body.policies.map((p) => p.remaining)).toEqual(expected.remaining);
              expect(await watcher.next()).toEqual({ type: "quota", policies: body.policies });
            } else {
              const response = await api(`/api/keys/${key}/refund`, json("POST", { policies, cost: c.cost }));
              expect(response.status).toBe(200);
              const body = (await response.json()) as { policies: PolicyQuota[] };
              expect(body.policies.map((p) => p.remaining)).toEqual(modelRefund(model, policies, c.cost, now));
              expect(await watcher.next()).toEqual({ type: "quota", policies: body.policies });
            }
          }
          expect(await peekAll(key)).toEqual(modelPeek(model, now));
          watcher.socket.close(1000, "done");
          await watcher.closed;
        },
      ),
      { numRuns: Math.max(10, Math.round(runs / 4)), seed },
    );
  });
});
