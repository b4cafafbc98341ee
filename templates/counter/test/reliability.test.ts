/**
 * Property-based reliability: random well- and ill-formed requests, and random command sequences
 * with evictions and aborts in between, checked against a model of the counter.
 *
 * Runs `fcRuns` cases per property (a few hundred in `pnpm test`; `pnpm test:soak` runs 10,000)
 * with the seed `fcSeed`, printed below, so any failure can be replayed:
 * `FC_SEED=<seed> FC_RUNS=<runs> pnpm --filter counter test test/reliability.test.ts`.
 */
import { env } from "cloudflare:workers";
import * as hostile from "../src/shared/hostile-input";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { api, connect, json, uniqueName, type Client } from "./helpers";

const MAX = Number.MAX_SAFE_INTEGER;
const zero = { requests: 0, accepted: 0, refused: 0, sequences: 0, commands: 0, evictions: 0, aborts: 0 };
const { runs, seed, figures } = hostile.propertyRuns("reliability", zero);

/** Counters are drawn from a small pool and put into a known state at the start of each case. */
const pooledName = hostile.namePool(() => uniqueName("pool")).take;

// ---- Generators -------------------------------------------------------------------------------

const fieldValue = fc.oneof(
  hostile.strangeNumber,
  fc.string({ maxLength: 10 }),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.nat()),
);

const body = fc.oneof(
  // Valid bodies, so that accepted requests are common enough for the model check to bite.
  { weight: 4, arbitrary: fc.record({ by: fc.integer({ min: 1, max: 1e9 }) }).map((o) => JSON.stringify(o)) },
  { weight: 3, arbitrary: fc.record({ value: fc.integer({ min: -MAX, max: MAX }) }).map((o) => JSON.stringify(o)) },
  fc.constant(undefined),
  fc.constant(""),
  fc.record({ by: fieldValue }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ value: fieldValue }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ by: fc.integer({ min: 1, max: 50 }), extra: fieldValue }).map((o) => JSON.stringify(o)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.uint8Array({ maxLength: 64 }),
  fc.integer({ min: 1000, max: 4000 }).map((n) => JSON.stringify({ by: 1, pad: "x".repeat(n) })),
);

/** The real routes, and any method on any path. */
const endpoint = hostile.endpoints(
  ["GET ", "POST /increment", "POST /decrement", "PUT ", "DELETE "],
  ["/websocket", "/nope", "/"],
);

const request = fc.record({
  endpoint,
  tracked: hostile.mostly(true),
  name: hostile.segment(),
  contentType: hostile.contentType,
  body,
  initial: fc.integer({ min: -MAX, max: MAX }),
});

// ---- The model --------------------------------------------------------------------------------

/** What an accepted request must leave the counter at, given the value before it. */
function expectedAfter(method: string, route: string, sent: string | Uint8Array | undefined, before: number) {
  // Only PUT, increment and decrement read a body; GET and DELETE ignore whatever was sent.
  const read = () => {
    const text = typeof sent === "string" ? sent : sent ? new TextDecoder().decode(sent) : "";
    return (text ? JSON.parse(text) : {}) as { by?: number; value?: number };
  };
  if (method === "PUT") return read().value;
  if (method === "DELETE") return 0;
  if (route === "/increment") return before + (read().by ?? 1);
  if (route === "/decrement") return before - (read().by ?? 1);
  return before;
}

async function valueOf(name: string): Promise<number> {
  return ((await (await api(`/api/counters/${name}`)).json()) as { value: number }).value;
}

// ---- Properties -------------------------------------------------------------------------------

describe("any request, however malformed", () => {
  it("never answers 5xx; refusals are problem+json and change nothing; acceptances match the model", async () => {
    await fc.assert(
      fc.asyncProperty(request, async ({ endpoint: { method, route }, ...r }) => {
        const tracked = pooledName();
        await api(`/api/counters/${tracked}`, json("PUT", { value: r.initial }));
        const name = r.tracked ? tracked : r.name;
        const init = hostile.requestInit(method, r.contentType, r.body);
        const response = await api(`/api/counters/${name}${route}`, init);
        figures.requests++;
        expect(response.status).toBeLessThan(500);
        const after = await valueOf(tracked);
        if (response.status === 200) {
          figures.accepted++;
          if (r.tracked && method !== "HEAD") {
            const expected = expectedAfter(method, route, init.body, r.initial);
            expect(((await response.json()) as { value: number }).value).toBe(expected);
            expect(after).toBe(expected);
          }
        } else {
          figures.refused++;
          await hostile.expectProblem(response, method);
          expect(after).toBe(r.initial);
        }
      }),
      { numRuns: runs, seed },
    );
    // The property is only meaningful if both branches were exercised.
    expect(figures.accepted).toBeGreaterThan(0);
    expect(figures.refused).toBeGreaterThan(0);
  });
});

// ---- Command sequences with faults --------------------------------------------------------------

const command = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constantFrom("increment", "decrement"), by: fc.integer({ min: 1, max: 1e9 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("set"), value: fc.integer({ min: -1e12, max: 1e12 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reset") }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("socket"), by: fc.integer({ min: 1, max: 1e6 }) }) },
  ...hostile.evictOrAbort,
);

describe("command sequences with evictions and aborts in between", () => {
  it("never lose an acknowledged change, and the watcher either follows or is closed and resyncs", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 15 }), async (commands) => {
        const name = pooledName();
        const stub = env.COUNTER.getByName(name);
        expect((await api(`/api/counters/${name}`, { method: "DELETE" })).status).toBe(200);
        let model = 0;
        let watcher: Client = await connect(name);
        expect(await watcher.next()).toEqual({ type: "value", value: 0 });
        figures.sequences++;

        for (const c of commands) {
          figures.commands++;
          if (c.kind === "evict" || c.kind === "abort") {
            await hostile.platformMove(c.kind, stub, figures);
            // Evicted, the watcher's socket hibernates with the object and must keep working.
            if (c.kind === "evict") continue;
            // An aborted object drops its sockets; the client sees a close and reconnects.
            const closed = await watcher.closed;
            expect(closed.code).not.toBe(1000);
            watcher = await connect(name);
            expect(await watcher.next()).toEqual({ type: "value", value: model });
            continue;
          }
          if (c.kind === "socket") {
            watcher.send({ type: "increment", by: c.by });
            model += c.by;
            expect(await watcher.next()).toEqual({ type: "value", value: model });
            continue;
          }
          let response: Response;
          if (c.kind === "set") {
            response = await api(`/api/counters/${name}`, json("PUT", { value: c.value }));
            model = c.value;
          } else if (c.kind === "reset") {
            response = await api(`/api/counters/${name}`, { method: "DELETE" });
            model = 0;
          } else {
            response = await api(`/api/counters/${name}/${c.kind}`, json("POST", { by: c.by }));
            model += c.kind === "increment" ? c.by : -c.by;
          }
          expect(response.status).toBe(200);
          expect(await response.json()).toEqual({ name, value: model });
          expect(await watcher.next()).toEqual({ type: "value", value: model });
        }
        expect(await valueOf(name)).toBe(model);
        watcher.socket.close(1000, "done");
      }),
      { numRuns: Math.max(10, Math.round(runs / 4)), seed },
    );
  });
});
