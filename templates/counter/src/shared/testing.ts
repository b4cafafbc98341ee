// Vendored from durable-patterns packages/shared/src/testing.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// Test-side helpers: unique names, JSON requests, log lines and metric points, what an object's operations cost in rows and what
// it keeps, a WebSocket client for upgrade responses, storage faults, what bearer auth must refuse. Tests only; no app's Worker
// imports it, so it never ends up in a bundle.
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import type { DurableObject } from "cloudflare:workers";
import { Hono, type MiddlewareHandler } from "hono";
import { expect, vi } from "vitest";
import type { RunReport } from "./alarm-queue";
import { onError, problemType } from "./http";
import { levelOf, type LogLevel } from "./log";
import { costBetween, type Sql, type SqlMeter } from "./sql";

/** One structured line (src/log.ts) and the console method that wrote it. */
export interface LoggedLine {
  console: "log" | "warn" | "error";
  line: Record<string, unknown>;
}

/**
 * Every JSON line written to the console while `fn` runs, in order, with the console method that
 * wrote it. In these tests a Worker and its objects share one isolate, so the lines of both are
 * seen: an operation's line comes before its request's (the operation ends first).
 */
export async function logLinesOf(
  fn: (lines: readonly LoggedLine[]) => Promise<unknown> | unknown,
): Promise<LoggedLine[]> {
  const lines: LoggedLine[] = [];
  const spies = (["log", "warn", "error"] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      const text = args.map(String).join(" ");
      try {
        lines.push({ console: method, line: JSON.parse(text) as Record<string, unknown> });
      } catch {
        lines.push({ console: method, line: { text } }); // fails a test's shape check instead of being lost
      }
    }),
  );
  try {
    await fn(lines); // the lines so far, for a test that waits for one written after an answer
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines;
}

const CONSOLE: Record<LogLevel, LoggedLine["console"]> = { info: "log", warn: "warn", error: "error" };

/** The line `requestLog` writes for a request, as a `toEqual` expectation (`ms` any number; `ray` null in tests). */
export function requestLine(
  app: string,
  request: { method: string; route: string; object: string | null; status: number },
): LoggedLine {
  const level = levelOf(request.status);
  return {
    console: CONSOLE[level],
    line: { level, message: "request", app, ...request, ms: expect.any(Number), ray: null },
  };
}

/**
 * The line `ObjectLog.op` writes for an operation that did not throw, as a `toEqual` expectation:
 * `outcome` "ok" and rows any number unless given.
 */
export function operationLine(
  app: string,
  operation: { op: string; object: string | null; outcome?: string; rowsRead?: number; rowsWritten?: number },
): LoggedLine {
  return {
    console: "log",
    line: {
      level: "info",
      message: "operation",
      app,
      outcome: "ok",
      rowsRead: expect.any(Number),
      rowsWritten: expect.any(Number),
      ...operation,
      ms: expect.any(Number),
    },
  };
}

/**
 * The line `ObjectLog.alarm` writes for a run that succeeded, as a `toEqual` expectation: what the
 * test gives of the queue's report (and `retryCount`, 0 by default); the rest any number, and
 * `nextAlarm` a number or null.
 */
export function alarmRunLine(
  app: string,
  object: string | null,
  report: Partial<RunReport> & { retryCount?: number } = {},
): LoggedLine {
  return {
    console: "log",
    line: {
      level: "info",
      message: "alarm run",
      app,
      op: "alarm",
      object,
      outcome: "ok",
      ms: expect.any(Number),
      retryCount: 0,
      ran: expect.any(Number),
      succeeded: expect.any(Number),
      failed: expect.any(Number),
      deadLettered: expect.any(Number),
      rowsRead: expect.any(Number),
      rowsWritten: expect.any(Number),
      nextAlarm: expect.toSatisfy((next: unknown) => next === null || typeof next === "number"),
      ...report,
    },
  };
}

/**
 * The line of an alarm run whose `ran` tasks all succeeded (none failed or dead-lettered), as a
 * `toEqual` expectation: what a due purge or scheduled reset writes. `nextAlarm` is any number
 * unless given: the queue arms the alarm again for what it keeps scheduled.
 */
export function succeededRunLine(
  app: string,
  object: string | null,
  { ran = 1, nextAlarm = expect.any(Number) as unknown }: { ran?: number; nextAlarm?: unknown } = {},
): LoggedLine {
  return alarmRunLine(app, object, {
    ran,
    succeeded: ran,
    failed: 0,
    deadLettered: 0,
    nextAlarm,
  } as Partial<RunReport>);
}

/**
 * What `GET /api/health` must do in every app: answer 200 `{"ok":true,app,version}` with only its
 * own request line written, and create or wake no object of `namespace`.
 */
export async function expectHealthy(
  call: () => Promise<Response>,
  namespace: DurableObjectNamespace,
  app: string,
  version: string,
): Promise<void> {
  const before = await listDurableObjectIds(namespace);
  let response!: Response;
  const lines = await logLinesOf(async () => {
    response = await call();
  });
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ ok: true, app, version });
  expect(lines).toEqual([requestLine(app, { method: "GET", route: "/api/health", object: null, status: 200 })]);
  expect(await listDurableObjectIds(namespace)).toHaveLength(before.length);
}

/**
 * The Analytics Engine points the object behind `stub` writes while `fn` runs, through a stand-in
 * `METRICS` binding set on its env (what `metric(env, ...)` reads) and removed afterwards: every
 * object of a test isolate shares that env, and other tests expect no binding.
 */
export async function metricPointsOf<O extends DurableObject>(
  stub: DurableObjectStub<O>,
  fn: (points: readonly AnalyticsEngineDataPoint[]) => Promise<unknown>,
): Promise<AnalyticsEngineDataPoint[]> {
  const points: AnalyticsEngineDataPoint[] = [];
  const METRICS = { writeDataPoint: (point?: AnalyticsEngineDataPoint) => void points.push(point!) };
  const bind = (value: unknown) =>
    runInDurableObject(stub, (instance: O) => {
      const objectEnv = (instance as unknown as { env: Record<string, unknown> }).env;
      if (value === undefined) delete objectEnv.METRICS;
      else objectEnv.METRICS = value;
    });
  await bind(METRICS);
  try {
    await fn(points); // the points so far, for a test that waits for one written after an answer
  } finally {
    await bind(undefined);
  }
  return points;
}

let sequence = 0;

/** A name no other test uses (an object's name, a key, an instance id), so tests never share an object. */
export function uniqueName(prefix = "t"): string {
  return `${prefix}-${Date.now().toString(36)}-${(sequence++).toString(36)}`;
}

/** The `init` of a JSON request: the body serialized, with its content type. */
export function json(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

/**
 * Runs `operation` (a request through the Worker, usually) and returns the statements, rows read
 * and rows written of the object behind `stub`, from its metered `sql` field. Exact, so tests
 * assert it: what each operation costs is part of an app's contract.
 *
 * @example
 * ```ts
 * expect(await storageCost(env.COUNTER.getByName(name), () => increment(name))).toEqual({
 *   statements: 1, rowsRead: 2, rowsWritten: 1,
 * });
 * ```
 */
export async function storageCost<O extends DurableObject & { sql: Sql }>(
  stub: DurableObjectStub<O>,
  operation: () => Promise<unknown>,
): Promise<SqlMeter> {
  const meter = () => runInDurableObject(stub, (instance: O) => ({ ...instance.sql.meter }));
  const before = await meter();
  await operation();
  return costBetween(before, await meter());
}

/** What an object keeps: its SQLite tables by name (the runtime's own `_cf_…` left out) and its alarm. */
export interface StoredState {
  tables: string[];
  alarm: number | null;
}

/**
 * What the object behind `stub` keeps in storage. An object that deleted itself whole (a purge by
 * `deleteAll()`) keeps `{ tables: [], alarm: null }`: nothing is billed for it any more, and the
 * next request finds a fresh object.
 */
export function storageOf<O extends DurableObject>(stub: DurableObjectStub<O>): Promise<StoredState> {
  return runInDurableObject(stub, async (_instance: O, state) => ({
    tables: state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name",
      )
      .toArray()
      .map((row) => row.name),
    alarm: await state.storage.getAlarm(),
  }));
}

/**
 * A test-side WebSocket client: accepts the client end of an upgrade response and queues what the
 * server sends, so a test can `await next()` message by message.
 *
 * @example
 * ```ts
 * const response = await exports.default.fetch(url, { headers: { upgrade: "websocket" } });
 * const client = socketClient(response);
 * expect(await client.next()).toEqual({ type: "value", value: 0 });
 * ```
 */

export interface SocketClient {
  socket: WebSocket;
  /** The next message, parsed as JSON (or the text itself when it is not JSON, e.g. "pong"). */
  next(): Promise<unknown>;
  /** Resolves with the close event once the connection closes. */
  closed: Promise<{ code: number; reason: string; wasClean: boolean }>;
  /** Sends a string as it is, anything else as JSON. */
  send(message: unknown): void;
}

/** Accepts the WebSocket of an upgrade response; throws with the answer when it is not one. */
export async function socketClient(response: Response): Promise<SocketClient> {
  const socket = response.webSocket;
  if (!socket) throw new Error(`expected a WebSocket upgrade, got ${response.status}: ${await response.text()}`);
  socket.accept(); // the client's side: the hibernation API is for the object's side
  const queue: unknown[] = [];
  const waiting: ((message: unknown) => void)[] = [];
  socket.addEventListener("message", (event) => {
    const text = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data);
    let message: unknown = text;
    try {
      message = JSON.parse(text);
    } catch {
      // "pong" and other plain text frames stay strings.
    }
    const resolve = waiting.shift();
    if (resolve) resolve(message);
    else queue.push(message);
  });
  const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) =>
    socket.addEventListener("close", (event) =>
      resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean }),
    ),
  );
  return {
    socket,
    closed,
    next: () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve))),
    send: (message) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
  };
}

/**
 * Makes `storage.deleteAll()` fail as a storage fault would: each call asks `fails()`, and when it
 * answers true the call rejects with `message` and deletes nothing; otherwise the real call runs.
 * For tests of purges that must stay scheduled until `deleteAll()` has succeeded. Patch each
 * storage object once (an evicted or crashed object gets a new one).
 *
 * @example
 * ```ts
 * await runInDurableObject(stub, (_object, state) => {
 *   injectDeleteAllFault(state.storage, once()); // the next call fails, once
 * });
 * ```
 */
export function injectDeleteAllFault(
  storage: DurableObjectStorage,
  fails: () => boolean,
  message = "injected: deleteAll failed",
): void {
  const deleteAll = storage.deleteAll.bind(storage);
  storage.deleteAll = (options) => (fails() ? Promise.reject(new Error(message)) : deleteAll(options));
}

/** A `fails` for {@link injectDeleteAllFault}: true once, for the first call, then false. */
export function once(): () => boolean {
  let armed = true;
  return () => {
    const fail = armed;
    armed = false;
    return fail;
  };
}

/**
 * The `NAME=value` lines of a `.dev.vars` file (as wrangler reads them): comments and blank lines
 * skipped, quotes around a value removed. For tests that `.dev.vars.example` lists every secret.
 */
export function devVarsOf(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) vars[match[1]!] = match[2]!.replace(/^"(.*)"$/, "$1");
  }
  return vars;
}

/**
 * The near misses of `token` that a bearer check must refuse, as `Authorization` values: another
 * token, the token made longer, a prefix, the same length one byte off (its last letter's case),
 * the same length in characters but one byte more (a multibyte character), and the token under
 * another scheme. A comparison that stops at the shorter length, counts characters instead of
 * bytes or ignores case lets one of them in.
 */
export function nearMissAuthorizations(token: string): string[] {
  const last = token.at(-1)!;
  const flipped = last === last.toUpperCase() ? last.toLowerCase() : last.toUpperCase();
  if (flipped === last) throw new Error(`the test token must end in a letter, not "${last}"`);
  return [
    "Bearer wrong-token",
    `Bearer ${token}-but-longer`,
    `Bearer ${token.slice(0, -1)}`,
    `Bearer ${token.slice(0, -1)}${flipped}`,
    `Bearer ${token.slice(0, -2)}é${last}`,
    `Basic ${btoa(token)}`,
  ];
}

/**
 * What `requireBearer` (src/bearer.ts) answers on an app's route to a request without a token:
 * 401, a problem+json `unauthorized`, and the bare challenge of `realm` (no `error`: nothing was
 * presented).
 */
export async function expectUnauthorized(response: Response, realm: string, label?: string): Promise<void> {
  expect(response.status, label).toBe(401);
  expect(response.headers.get("www-authenticate"), label).toBe(`Bearer realm="${realm}"`);
  expect(response.headers.get("content-type"), label).toBe("application/problem+json");
  expect(await response.json(), label).toMatchObject({ status: 401, type: problemType("unauthorized") });
}

/**
 * What `requireBearer` answers on an app's ordinary `path` to a wrong token, through `api` (the
 * app's test client: a GET of the path with the `Authorization` given in `init`, empty for none):
 * 401 for each of the {@link nearMissAuthorizations} of the tests' `token`, with
 * `error="invalid_token"` in the challenge of `realm` for each Bearer one, and 401 for the right
 * token sent as `?token=` (only WebSocket routes take it: browsers cannot set their headers).
 */
export async function expectWrongTokensRefused(
  api: (path: string, init: { headers: { authorization: string } }) => Promise<Response>,
  path: string,
  token: string,
  realm: string,
): Promise<void> {
  const send = (to: string, authorization: string) => api(to, { headers: { authorization } });
  for (const authorization of nearMissAuthorizations(token)) {
    const response = await send(path, authorization);
    expect(response.status, `${path} ${authorization}`).toBe(401);
    if (authorization.startsWith("Bearer ")) {
      expect(response.headers.get("www-authenticate"), authorization).toBe(
        `Bearer realm="${realm}", error="invalid_token"`,
      );
    }
  }
  const query = `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
  expect((await send(query, "")).status, query).toBe(401);
}

/**
 * What an app's bearer middleware does where its secret is not set (`env` lacks it): 503
 * `not-configured` to every request, a right-looking or an empty token included. An unset secret
 * must never mean "no auth", nor match an empty token: the API fails closed.
 */
export async function expectFailsClosed<B extends object>(
  middleware: MiddlewareHandler<{ Bindings: B }>,
  env: B,
): Promise<void> {
  const app = new Hono<{ Bindings: B }>().use(middleware).get("/", (c) => c.text("open"));
  app.onError(onError);
  for (const authorization of ["Bearer ", "Bearer anything", ""]) {
    const response = await app.request("/", { headers: { authorization } }, env);
    expect(response.status, authorization).toBe(503);
    expect(await response.json()).toMatchObject({ type: problemType("not-configured") });
  }
}
