/**
 * Operating the rate limiter in production: the structured log lines (one per request, one per
 * object operation with its rows, one per alarm run), the optional Analytics Engine points, the
 * dead-letter routes and `GET /api/health`. See "Operating it" in the README.
 *
 * The Worker and its objects run in the same isolate here, so one `vi.spyOn(console, ...)` sees the
 * lines of both, in the order they were written: the object's line first (its operation ends
 * before the Worker answers), then the request's.
 *
 * Alarms are not reset between tests, and these keys' purges are armed at times that have passed:
 * each test resets the keys it used (afterEach) so that no alarm of theirs fires later.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import {
  expectHealthy,
  logLinesOf,
  metricPointsOf,
  operationLine,
  storageOf,
  succeededRunLine,
} from "../src/shared/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import { version } from "../package.json";
import type { RateLimiter } from "../src/rate-limiter-object";
import { TOKEN, api, check, connect, freezeClock, stub, uniqueKey } from "./helpers";

const used: string[] = [];
/** A key no other test uses, reset after the test (its state and its alarm deleted). */
function key(prefix?: string): string {
  const name = prefix === undefined ? uniqueKey() : `${prefix}${uniqueKey()}`;
  used.push(name);
  return name;
}

afterEach(async () => {
  vi.restoreAllMocks();
  for (const name of used.splice(0)) await api(`/api/keys/${encodeURIComponent(name)}`, { method: "DELETE" });
});

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
// GCRA 10 per minute: one check keeps the key's state for 6 s, and the key a minute more.
const policy = { name: "p", algorithm: "gcra", limit: 10, period: 60 };
const once = { name: "once", algorithm: "fixed-window", limit: 1, period: 60 };

describe("log lines", () => {
  it("writes one operation line with its rows and one request line for an allowed check", async () => {
    const name = key();
    await check({ key: name, policies: [policy] }); // the first check also creates the tables and the purge
    const lines = await logLinesOf(() => check({ key: name, policies: [policy] }));
    expect(lines).toEqual([
      operationLine("rate-limiter", { op: "check", object: name, rowsRead: 1, rowsWritten: 1 }),
      {
        console: "log",
        line: {
          level: "info",
          message: "request",
          app: "rate-limiter",
          method: "POST",
          route: "/api/check",
          // The key is in the body, not the path: the operation line names it.
          object: null,
          status: 200,
          ms: expect.any(Number),
          ray: null,
        },
      },
    ]);
  });

  it("logs a refused request (422) as a warning, and touches no object", async () => {
    const name = key();
    const lines = await logLinesOf(() => check({ key: name, policies: ["no-such-policy"] }));
    expect(lines).toEqual([
      {
        console: "warn",
        line: expect.objectContaining({ level: "warn", message: "request", route: "/api/check", status: 422 }),
      },
    ]);
  });

  it("logs a denied check (429) as info, with the operation's outcome denied", async () => {
    const name = key();
    await check({ key: name, policies: [once] });
    let status = 0;
    const lines = await logLinesOf(async () => {
      status = (await check({ key: name, policies: [once] })).status;
    });
    expect(status).toBe(429);
    expect(lines).toEqual([
      operationLine("rate-limiter", { op: "check", object: name, outcome: "denied", rowsRead: 1, rowsWritten: 0 }),
      {
        console: "log",
        line: expect.objectContaining({ level: "info", message: "request", route: "/api/check", status: 429 }),
      },
    ]);
  });

  it("logs the purge's alarm run with the queue's report", async () => {
    const name = key();
    const setClock = await freezeClock(name, T0);
    await check({ key: name, policies: [policy] });
    // Run by hand with the clock past the key's expiry and grace: waiting a minute is no option.
    await setClock(T0 + 66_000);
    const lines = await logLinesOf(() => runDurableObjectAlarm(stub(name)));
    expect(lines).toEqual([succeededRunLine("rate-limiter", name)]);
  });

  it("never logs the token, from the header or from ?token= on the WebSocket route", async () => {
    const name = key();
    const lines = await logLinesOf(async () => {
      await check({ key: name, policies: [policy] });
      await api(`/api/keys/${name}`);
      const watcher = await connect(
        name,
        { headers: { authorization: "" } },
        `/api/keys/${name}/websocket?token=${TOKEN}`,
      );
      await watcher.next();
      watcher.socket.close(1000, "done");
      await watcher.closed;
    });
    expect(lines.map(({ line }) => [line.route ?? line.op, line.status ?? line.outcome])).toEqual([
      ["check", "ok"],
      ["/api/check", 200],
      ["peek", "ok"],
      ["/api/keys/:key", 200],
      // The socket's first message is read by the object without an operation line.
      ["/api/keys/:key/websocket", 101],
    ]);
    expect(JSON.stringify(lines)).not.toContain(TOKEN);
  });
});

describe("GET /api/health", () => {
  it("answers the app and its package.json version without a token and without creating any object", () =>
    expectHealthy(
      () => api("/api/health", { headers: { authorization: "" } }),
      env.RATE_LIMITER,
      "rate-limiter",
      version,
    ));
});

describe("metrics (with a METRICS dataset bound)", () => {
  it("writes one rate-limiter:check point per policy: its verdict, the key's prefix, the cost and what remains", async () => {
    const name = key("user:");
    const two = [{ ...policy, name: "burst" }, once];
    const points = await metricPointsOf(stub(name), async () => {
      expect((await check({ key: name, policies: two })).status).toBe(200);
      expect((await check({ key: name, policies: two, cost: 1 })).status).toBe(429);
      await api(`/api/keys/${name}`); // a peek is not a check: no point
    });
    expect(points).toEqual([
      { indexes: ["rate-limiter:check"], blobs: ["burst", "allowed", "user:"], doubles: [1, 9] },
      { indexes: ["rate-limiter:check"], blobs: ["once", "allowed", "user:"], doubles: [1, 0] },
      // Denied by "once"; "burst" would have admitted it, and consumed nothing.
      { indexes: ["rate-limiter:check"], blobs: ["burst", "allowed", "user:"], doubles: [1, 9] },
      { indexes: ["rate-limiter:check"], blobs: ["once", "denied", "user:"], doubles: [1, 0] },
    ]);
  });

  it("writes an empty prefix for a key without ':', never the key", async () => {
    const name = key();
    const points = await metricPointsOf(stub(name), () => check({ key: name, policies: [policy], cost: 3 }));
    expect(points).toEqual([{ indexes: ["rate-limiter:check"], blobs: ["p", "allowed", ""], doubles: [3, 7] }]);
    expect(JSON.stringify(points)).not.toContain(name);
  });

  it("writes the purge's alarm run as a rate-limiter:alarm point", async () => {
    const name = key();
    const setClock = await freezeClock(name, T0);
    await check({ key: name, policies: [policy] });
    await setClock(T0 + 66_000);
    const points = await metricPointsOf(stub(name), () => runDurableObjectAlarm(stub(name)));
    // ran, succeeded, failed, dead-lettered, the platform's retry count, ms
    expect(points).toEqual([
      { indexes: ["rate-limiter:alarm"], blobs: ["ok"], doubles: [1, 1, 0, 0, 0, expect.any(Number)] },
    ]);
  });
});

/**
 * Makes the key's purge task (`expire`) give up: it is moved to now and allowed one attempt, and
 * its handler's first read of the key's expiry fails, as a storage fault would. The key keeps its
 * state (it is live for a minute more), so nothing purges the dead letter.
 */
async function deadLetterOn(name: string) {
  await freezeClock(name, T0);
  await check({ key: name, policies: [policy] });
  await runInDurableObject(stub(name), (limiter: RateLimiter) => {
    const object = limiter as unknown as {
      queue: {
        schedule(name: string, payload: null, options: { at: number; key: string; maxAttempts: number }): unknown;
      };
      live: () => number | null;
    };
    object.queue.schedule("expire", null, { at: T0, key: "expire", maxAttempts: 1 });
    const live = object.live;
    object.live = () => {
      object.live = live; // once
      throw new Error("injected: storage fault");
    };
  });
  return logLinesOf(() => runDurableObjectAlarm(stub(name)));
}

describe("dead letters", () => {
  it("logs a task that gave up as an error line, with its name, key, attempts and last error", async () => {
    const name = key();
    const lines = await deadLetterOn(name);
    expect(lines).toEqual([
      {
        console: "error",
        line: {
          level: "error",
          message: "task moved to the dead letters",
          app: "rate-limiter",
          op: "dead-letter",
          object: name,
          outcome: "dead",
          deadLetter: expect.any(Number),
          task: "expire",
          key: "expire",
          attempts: 1,
          lastError: "Error: injected: storage fault",
        },
      },
      {
        console: "error",
        line: {
          level: "error",
          message: "task failed",
          app: "rate-limiter",
          op: "task",
          object: name,
          outcome: "error",
          task: "expire",
          key: "expire",
          attempt: 1,
          maxAttempts: 1,
          error: "Error: injected: storage fault",
        },
      },
      {
        console: "log",
        // Dead-lettered on its first failure (maxAttempts 1): counted there, not as failed. No purge is
        // pending any more (nextAlarm null) until the dead letter is retried.
        line: expect.objectContaining({ message: "alarm run", ran: 1, failed: 0, deadLettered: 1, nextAlarm: null }),
      },
    ]);
  });

  it("lists a key's dead letters (GET /api/keys/:key/dead-letters), never their payloads", async () => {
    const name = key();
    await deadLetterOn(name);
    const response = await api(`/api/keys/${name}/dead-letters`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { deadLetters: { id: number }[] };
    expect(body).toEqual({
      key: name,
      deadLetters: [
        {
          id: expect.any(Number),
          name: "expire",
          attempts: 1,
          lastError: "Error: injected: storage fault",
          failedAt: new Date(T0).toISOString(),
        },
      ],
    });
  });

  it("retries one (POST /api/keys/:key/dead-letters/:id/retry): the task is due again, and the letter is gone", async () => {
    const name = key();
    await deadLetterOn(name);
    const listed = (await (await api(`/api/keys/${name}/dead-letters`)).json()) as { deadLetters: { id: number }[] };
    const id = listed.deadLetters[0]!.id;
    const retried = await api(`/api/keys/${name}/dead-letters/${id}/retry`, { method: "POST" });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({
      key: name,
      task: { id: expect.any(Number), name: "expire", due: new Date(T0).toISOString() },
    });
    expect(await (await api(`/api/keys/${name}/dead-letters`)).json()).toEqual({ key: name, deadLetters: [] });
    const again = await api(`/api/keys/${name}/dead-letters/${id}/retry`, { method: "POST" });
    expect(again.status).toBe(404);
    expect(again.headers.get("content-type")).toBe("application/problem+json");
    expect(await again.json()).toMatchObject({
      status: 404,
      type: expect.stringContaining("no-such-dead-letter"),
      detail: `Key "${name}" has no dead letter ${id}.`,
    });

    // Back in the queue, the purge does its work once the key has run out.
    await runInDurableObject(stub(name), (limiter: RateLimiter) => void (limiter.clock = () => T0 + 66_000));
    await runDurableObjectAlarm(stub(name));
    expect((await storageOf(stub(name))).tables).toEqual([]);
  });

  it("answers an empty list and a 404 for a key without state, and creates no tables for it", async () => {
    const name = key();
    expect(await (await api(`/api/keys/${name}/dead-letters`)).json()).toEqual({ key: name, deadLetters: [] });
    expect((await api(`/api/keys/${name}/dead-letters/1/retry`, { method: "POST" })).status).toBe(404);
    expect((await storageOf(stub(name))).tables).toEqual([]);
  });

  it("requires the token (401), and refuses a bad id (400)", async () => {
    const name = key();
    const anonymous = { headers: { authorization: "" } };
    expect((await api(`/api/keys/${name}/dead-letters`, anonymous)).status).toBe(401);
    expect((await api(`/api/keys/${name}/dead-letters/1/retry`, { ...anonymous, method: "POST" })).status).toBe(401);
    expect((await api(`/api/keys/${name}/dead-letters/0/retry`, { method: "POST" })).status).toBe(400);
  });
});
