/**
 * Property-based reliability: random well- and ill-formed requests checked against a model of the
 * API, and random sequences of runs, clock moves, events, pause/resume, evictions and aborts.
 *
 * Runs `fcRuns` cases for the request property (200 in `pnpm test`; `pnpm test:soak` runs 10,000)
 * and a tenth of that for the slower sequences, with the seed `fcSeed`, printed below, so any
 * failure can be replayed: `FC_SEED=<seed> FC_RUNS=<runs> pnpm --filter workflow test test/reliability.test.ts`.
 */
import { abortAllDurableObjects, evictDurableObject } from "cloudflare:test";
import * as hostile from "../src/shared/hostile-input";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { InstanceView } from "../src/protocol";
import { T0, api, instance, lifecycle, run, sendEvent, setClock, start, stub, uniqueId } from "./helpers";
import { TRANSITIONS } from "./transitions";
import { count } from "./workflows";

/** `predicted`: requests whose outcome the model predicted and the test checked; `waitingEvents` of them. */
const { runs, seed, figures } = hostile.propertyRuns("reliability", {
  requests: 0,
  accepted: 0,
  refused: 0,
  created: 0,
  predicted: 0,
  waitingEvents: 0,
  sequences: 0,
  operations: 0,
  evictions: 0,
  aborts: 0,
});

// ---- Any request, however malformed -----------------------------------------------------------

/** Instances the malformed-request property aims at, drawn from a small pool (see hostile.namePool) and put into a known state at the start of each case. */
const pooledId = hostile.namePool(() => uniqueId("pool")).take;
const pooled = new Set<string>();

/** Ids a well-formed create may use: a second small pool; the second create of each is a 409. */
const createPool = Array.from({ length: 32 }, () => uniqueId("new"));
const created = new Set<string>();

const hostileId = hostile.segment("-a", "%ED%A0%80", "no-such-one");

const eventTypeSegment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("ping", "pong", "a.b:c-d_e") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 70 }).map(hostile.encodeUtf8) },
  { weight: 1, arbitrary: fc.constantFrom("x".repeat(65), "a b", "%2F", "~", "%FF") },
);

/** A body just over the 1 MiB limit: rare, so the run stays fast. */
const oversized = JSON.stringify({ payload: "x".repeat(1024 * 1024) });

const anyJson = fc.jsonValue({ maxDepth: 3 });
const body = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(undefined, "", "{}") },
  { weight: 3, arbitrary: anyJson.map((payload) => JSON.stringify({ payload })) },
  { weight: 1, arbitrary: fc.constantFrom("a", "b", "nope", "").map((from) => JSON.stringify({ from })) },
  { weight: 1, arbitrary: fc.record({ payload: anyJson, extra: anyJson }).map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: anyJson.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.constantFrom("{", "[1,", "{'a':1}", "null", "NaN") },
);

/** What a create body may hold: the known fields, an unknown one, or any JSON where each goes. */
interface CreateAttempt {
  workflow?: unknown;
  id?: unknown;
  params?: unknown;
  extra?: unknown;
}

/** Bodies of `POST /api/instances`: well-formed ones often, so acceptances are common. */
const createBody: fc.Arbitrary<CreateAttempt> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      { workflow: fc.constant("test-waiter"), id: fc.constantFrom(...createPool), params: anyJson },
      { requiredKeys: ["workflow", "id"] },
    ) as fc.Arbitrary<CreateAttempt>,
  },
  {
    weight: 1,
    arbitrary: fc.record(
      { workflow: fc.constant("test-waiter"), params: anyJson },
      { requiredKeys: ["workflow"] },
    ) as fc.Arbitrary<CreateAttempt>,
  },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        workflow: fc.oneof(fc.constantFrom("test-waiter", "no-such-workflow", "", "x".repeat(65)), anyJson),
        id: fc.oneof(fc.constantFrom(...createPool), fc.string({ maxLength: 70 }), anyJson),
        params: anyJson,
        extra: anyJson,
      },
      { requiredKeys: [] },
    ) as fc.Arbitrary<CreateAttempt>,
  },
);

/** Queries of `GET /api/instances` and their answer: a filter that cannot match is a 422, a malformed value a 400. */
const LIST_ANSWERS: Record<string, number> = {
  "": 200,
  "?limit=5": 200,
  "?workflow=test-waiter&status=queued": 200,
  "?cursor=WzEsIngiXQ": 200, // [1,"x"]: a cursor anyone could make; a page after it
  "?status=bogus": 422,
  "?workflow=nope": 422,
  "?color=red": 422,
  "?status=queued&status=paused": 422,
  "?limit=0": 400,
  "?limit=1e3": 400,
  "?cursor=%%": 400,
};

/** What each request is aimed at, and the method that route takes. */
const NATURAL_METHOD = {
  get: "GET",
  event: "POST",
  pause: "POST",
  resume: "POST",
  terminate: "POST",
  restart: "POST",
  websocket: "GET",
  create: "POST",
  delete: "DELETE",
  list: "GET",
  other: "POST",
} as const;
type Action = keyof typeof NATURAL_METHOD;

const request = fc.record({
  action: fc.constantFrom(...(Object.keys(NATURAL_METHOD) as Action[])),
  method: fc.oneof(
    { weight: 4, arbitrary: fc.constant("natural") },
    { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS") },
  ),
  tracked: hostile.mostly(true),
  id: hostileId,
  type: eventTypeSegment,
  other: fc.constantFrom("/nope", "/", "/events", "/events/", "/pause/x", "/steps"),
  list: fc.constantFrom(...Object.keys(LIST_ANSWERS)),
  contentType: hostile.contentType,
  body,
  createBody,
  useCreateBody: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  oversize: fc.oneof({ weight: 200, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  state: fc.constantFrom("queued", "paused", "terminated", "waiting"),
});

/** Puts a pooled instance of `test-waiter` into `state` (or as near as its events allow) and reads it. */
async function prepare(id: string, state: string): Promise<InstanceView> {
  if (pooled.has(id)) expect((await lifecycle(id, "restart")).status).toBe(200);
  else {
    await start("test-waiter", undefined, { id });
    pooled.add(id);
  }
  await setClock(id, T0);
  if (state === "paused") expect((await lifecycle(id, "pause")).status).toBe(200);
  if (state === "terminated") expect((await lifecycle(id, "terminate")).status).toBe(200);
  if (state === "waiting") await run(id);
  return instance(id);
}

describe("any request, however malformed", () => {
  it("never answers 5xx; refusals are problem+json and change nothing; acceptances match the model", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const tracked = pooledId();
        const before = await prepare(tracked, r.state);
        const id = r.tracked ? tracked : r.id;
        const method = r.method === "natural" ? NATURAL_METHOD[r.action] : r.method;
        const path =
          r.action === "create"
            ? "/api/instances"
            : r.action === "list"
              ? `/api/instances${r.list}`
              : `/api/instances/${id}${
                  r.action === "get" || r.action === "delete"
                    ? ""
                    : r.action === "event"
                      ? `/events/${r.type}`
                      : r.action === "other"
                        ? r.other
                        : `/${r.action}`
                }`;
        const sent = r.oversize
          ? oversized
          : r.action === "create" && r.useCreateBody
            ? JSON.stringify(r.createBody)
            : r.body;
        const init = hostile.requestInit(method, r.contentType, sent);
        const hasBody = init.body !== undefined;
        const createdBefore = r.action === "create" && created.has(String(r.createBody.id));
        const response = await api(path, init);
        figures.requests++;
        expect(response.status).toBeLessThan(500);
        if (method === "DELETE" && path === `/api/instances/${id}` && response.status === 204) {
          // Deleted: only a finished instance, asked for by its own id; it is gone, and the pool
          // creates it afresh next time.
          figures.accepted++;
          expect(r.tracked).toBe(true);
          expect(["complete", "errored", "terminated"]).toContain(before.status);
          expect((await api(`/api/instances/${tracked}`)).status).toBe(404);
          pooled.delete(tracked);
          return;
        }
        const after = await instance(tracked);

        if (response.status >= 400) {
          figures.refused++;
          await hostile.expectProblem(response, method);
          expect(after).toEqual(before);
        } else {
          figures.accepted++;
          expect(r.oversize && hasBody).toBe(false);
        }
        // Any instance created is a new object: remember it, and check it exists as answered.
        let answer: { id: string; status: string } | undefined;
        if (response.status === 201) {
          figures.created++;
          answer = (await response.json()) as { id: string; status: string };
          created.add(answer.id);
          const view = await instance(answer.id);
          expect([view.id, view.workflow, view.status]).toEqual([answer.id, "test-waiter", "queued"]);
        }

        // What the model predicts for the requests it understands.
        const natural = method === NATURAL_METHOD[r.action] && !(r.oversize && hasBody);
        const jsonOrEmpty = !hasBody || sent === "" || JSON_TYPES.has(r.contentType ?? "");
        if (!natural) return;
        if (r.action === "create" && r.useCreateBody && hasBody && jsonOrEmpty) {
          const b = r.createBody;
          const wellFormed =
            b.workflow === "test-waiter" &&
            Object.keys(b).every((k) => k === "workflow" || k === "id" || k === "params") &&
            (b.id === undefined || createPool.includes(b.id as string));
          if (wellFormed) {
            figures.predicted++;
            const newId = b.id as string | undefined;
            if (newId !== undefined && createdBefore) {
              expect(response.status).toBe(409);
            } else {
              expect(response.status).toBe(201);
              if (newId !== undefined) expect(answer?.id).toBe(newId);
              const view = await instance(answer!.id);
              expect(view.params).toEqual(JSON.parse(JSON.stringify(b.params ?? null)));
            }
          }
        }
        if (r.action === "list") {
          figures.predicted++;
          expect(response.status).toBe(LIST_ANSWERS[r.list]);
        }
        if (!r.tracked) return;
        if (r.action === "delete") {
          figures.predicted++;
          expect(response.status).toBe(["complete", "errored", "terminated"].includes(before.status) ? 204 : 409);
        }
        if (r.action === "get") {
          figures.predicted++;
          expect(response.status).toBe(200);
          expect(await response.json()).toEqual(before);
        }
        if (r.action === "event" && /^(ping|pong|a\.b:c-d_e)$/.test(r.type) && jsonOrEmpty) {
          const validBody =
            !hasBody ||
            sent === "" ||
            sent === "{}" ||
            (typeof sent === "string" && /^\{"payload":/.test(sent) && !/"extra"/.test(sent));
          if (validBody) {
            figures.predicted++;
            if (before.status === "waiting") figures.waitingEvents++;
            expect(response.status).toBe(
              ["queued", "running", "waiting", "paused"].includes(before.status) ? 202 : 409,
            );
          }
        }
        const transition = TRANSITIONS[r.action];
        const plainBody = r.action !== "restart" || !hasBody || sent === "" || (sent === "{}" && jsonOrEmpty);
        if (transition && plainBody) {
          figures.predicted++;
          if (transition.from.includes(before.status)) {
            expect(response.status).toBe(200);
            expect(((await response.json()) as { status: string }).status).toBe(transition.to);
            expect(after.status).toBe(transition.to);
          } else {
            expect(response.status).toBe(409);
          }
        }
      }),
      { numRuns: runs, seed },
    );
    // The property is only meaningful if both branches were exercised.
    expect(figures.accepted).toBeGreaterThan(0);
    expect(figures.refused).toBeGreaterThan(0);
    expect(figures.predicted).toBeGreaterThan(0);
  });
});

const JSON_TYPES = new Set(["application/json", "application/json; charset=utf-8", "application/problem+json"]);

type Op =
  | { kind: "advance"; ms: number }
  | { kind: "run" }
  | { kind: "event"; payload: number }
  | { kind: "pause-resume" }
  | { kind: "evict" }
  | { kind: "abort" };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
  fc.constant({ kind: "run" as const }),
  fc.record({ kind: fc.constant("event" as const), payload: fc.integer({ min: 0, max: 9 }) }),
  fc.constant({ kind: "pause-resume" as const }),
  fc.constant({ kind: "evict" as const }),
  fc.constant({ kind: "abort" as const }),
);

// ---- Sequences with faults ----------------------------------------------------------------------

describe("random sequences with evictions and aborts in between", () => {
  it("never runs a step twice and always completes, whatever the interleaving", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        const id = await start("test-mixed");
        figures.sequences++;
        let now = T0;
        let firstEvent: number | null = null;
        for (const step of ops) {
          figures.operations++;
          switch (step.kind) {
            case "advance":
              now += step.ms;
              await setClock(id, now);
              break;
            case "run":
              await run(id);
              break;
            case "event": {
              const response = await sendEvent(id, "go", step.payload);
              expect(response.status).toBeLessThan(500);
              if (response.status === 202 && firstEvent === null) firstEvent = step.payload;
              break;
            }
            case "pause-resume":
              expect((await lifecycle(id, "pause")).status).toBeLessThan(500);
              expect((await lifecycle(id, "resume")).status).toBeLessThan(500);
              break;
            case "evict":
              figures.evictions++;
              await evictDurableObject(stub(id));
              await setClock(id, now); // the clock is a field: set it again on the new instance
              break;
            case "abort":
              figures.aborts++;
              await abortAllDurableObjects();
              await setClock(id, now);
              break;
          }
          expect(count(id, "a")).toBeLessThanOrEqual(1);
          expect(count(id, "b")).toBeLessThanOrEqual(1);
        }

        // Let everything happen: resume if paused, send the event if none was taken, pass the sleep.
        if ((await instance(id)).status === "paused") await lifecycle(id, "resume");
        if (firstEvent === null) {
          firstEvent = 7;
          await sendEvent(id, "go", firstEvent);
        }
        for (let i = 0; i < 4 && (await instance(id)).status !== "complete"; i++) {
          now += 120_000; // past any sleep started by the previous run
          await setClock(id, now);
          await run(id);
        }

        const view = await instance(id);
        expect(view.status).toBe("complete");
        expect(view.output).toEqual({ a: 1, go: firstEvent, b: 1 });
        expect([count(id, "a"), count(id, "b")]).toEqual([1, 1]);
      }),
      // Each case runs a fresh instance through several alarms: a tenth of the request cases.
      { numRuns: Math.max(10, Math.round(runs / 10)), seed },
    );
  });
});
