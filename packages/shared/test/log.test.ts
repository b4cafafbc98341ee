/**
 * Structured logs (src/log.ts) and optional metrics (src/metrics.ts): the lines a Worker and an
 * object write, their levels, and what they never contain.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RunReport } from "../src/alarm-queue";
import { ProblemError, health, onError } from "../src/http";
import { ObjectLog, levelOf, requestLog } from "../src/log";
import { metric } from "../src/metrics";
import { logLinesOf } from "../src/testing";
import type { StorageFixture } from "./fixtures/storage-fixture";

const linesOf = logLinesOf;

afterEach(() => vi.restoreAllMocks());

const LETTER = {
  id: 7,
  taskId: 41,
  name: "purge",
  key: "purge",
  payload: { email: "ada@example.com" },
  cron: null,
  timezone: null,
  attempts: 5,
  maxAttempts: 5,
  lastError: "Error: deleteAll failed",
  createdAt: 1,
  failedAt: 2,
};

const app = new Hono()
  .use(requestLog("demo", "name"))
  .onError(onError)
  .get("/api/health", health("demo", "1.2.3"))
  .get("/api/things/:name", (c) => c.json({ name: c.req.param("name") }))
  .post("/api/things/:name", () => {
    throw new ProblemError(422, "Invalid request: by: must be an integer");
  })
  .get("/api/broken", () => {
    throw new Error("database on fire");
  });

describe("request lines", () => {
  it("logs one info line per request with the route pattern, the object, the status and the cf-ray", async () => {
    const lines = await linesOf(() =>
      app.request("/api/things/ada?token=s3cret", {
        headers: { "cf-ray": "8f1c-LHR", authorization: "Bearer s3cret" },
      }),
    );
    expect(lines).toEqual([
      {
        console: "log",
        line: {
          level: "info",
          message: "request",
          app: "demo",
          method: "GET",
          route: "/api/things/:name",
          object: "ada",
          status: 200,
          ms: expect.any(Number),
          ray: "8f1c-LHR",
        },
      },
    ]);
    // Neither the query string nor the authorization header reaches the log.
    expect(JSON.stringify(lines)).not.toContain("s3cret");
  });

  it("logs a refusal that points to a client bug (422) as a warning, without its body", async () => {
    const lines = await linesOf(() => app.request("/api/things/ada", { method: "POST", body: '{"by":"secret text"}' }));
    expect(lines).toMatchObject([
      { console: "warn", line: { level: "warn", status: 422, route: "/api/things/:name" } },
    ]);
    expect(JSON.stringify(lines)).not.toContain("secret text");
  });

  it("logs a failure as an error line (the unhandled error's own line comes first)", async () => {
    const lines = await linesOf(() => app.request("/api/broken"));
    expect(lines.map((l) => [l.console, l.line.message, l.line.status ?? null])).toEqual([
      ["error", "unhandled error", null],
      ["error", "request", 500],
    ]);
  });

  it("logs a route no object is named in with object null, and ray null outside Cloudflare", async () => {
    const lines = await linesOf(() => app.request("/api/health"));
    expect(lines[0]!.line).toMatchObject({ route: "/api/health", object: null, ray: null, status: 200 });
  });

  it.each([
    [200, "info"],
    [404, "info"],
    [429, "info"],
    [400, "warn"],
    [413, "warn"],
    [415, "warn"],
    [422, "warn"],
    [500, "error"],
    [503, "error"],
  ])("gives a %i answer the level %s", (status, level) => {
    expect(levelOf(status)).toBe(level);
  });
});

describe("LOG_LEVEL", () => {
  const quiet = (level: string) => ({ LOG_LEVEL: level });

  it("keeps refusals and failures and drops the info lines with LOG_LEVEL=warn", async () => {
    const lines = await linesOf(async () => {
      await app.request("/api/things/ada", {}, quiet("warn"));
      await app.request("/api/things/ada", { method: "POST", body: "{}" }, quiet("warn"));
      await app.request("/api/broken", {}, quiet("warn"));
    });
    expect(lines.map((l) => [l.console, l.line.message, l.line.status ?? null])).toEqual([
      ["warn", "request", 422],
      ["error", "unhandled error", null],
      ["error", "request", 500],
    ]);
  });

  it("keeps only failures with LOG_LEVEL=error, and everything when it is unset or unknown", async () => {
    const failures = await linesOf(() =>
      app.request("/api/things/ada", { method: "POST", body: "{}" }, quiet("error")),
    );
    expect(failures).toEqual([]);
    const everything = await linesOf(() => app.request("/api/things/ada", {}, quiet("verbose")));
    expect(everything.map((l) => l.line.status)).toEqual([200]);
  });

  it("applies to an object's operation lines through the env it was given", async () => {
    const lines = await linesOf(() =>
      runInDurableObject(env.STORAGE_FIXTURE.getByName("quiet"), (fixture: StorageFixture) => {
        const log = new ObjectLog("demo", fixture.sql, "ada", quiet("warn"));
        log.op("read", () => 1);
        expect(() =>
          log.op("explode", () => {
            throw new Error("boom");
          }),
        ).toThrow("boom");
      }),
    );
    expect(lines.map((l) => [l.console, l.line.op, l.line.outcome])).toEqual([["error", "explode", "error"]]);
  });
});

describe("GET /api/health", () => {
  it("answers ok with the app and its version", async () => {
    const response = await app.request("/api/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, app: "demo", version: "1.2.3" });
  });
});

describe("object lines", () => {
  const inObject = <T>(fn: (log: ObjectLog, fixture: StorageFixture) => T) =>
    runInDurableObject(env.STORAGE_FIXTURE.getByName(`log-${crypto.randomUUID()}`), (fixture: StorageFixture) => {
      fixture.sql.run("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v INTEGER)");
      return fn(new ObjectLog("demo", fixture.sql, "ada"), fixture);
    });

  it("logs an operation with its outcome and the rows it read and wrote", async () => {
    const lines = await linesOf(() =>
      inObject((log, fixture) => log.op("insert", () => fixture.sql.run("INSERT INTO t (id, v) VALUES (1, 2)"))),
    );
    expect(lines).toEqual([
      {
        console: "log",
        line: {
          level: "info",
          message: "operation",
          app: "demo",
          op: "insert",
          object: "ada",
          outcome: "ok",
          ms: expect.any(Number),
          // An INSERT with its primary key given reads the row it checks for.
          rowsRead: 1,
          rowsWritten: 1,
        },
      },
    ]);
  });

  it("logs a refusal returned as a value with its reason as the outcome", async () => {
    const lines = await linesOf(() => inObject((log) => log.op("check", () => ({ ok: false, reason: "too_large" }))));
    expect(lines[0]!.line).toMatchObject({ op: "check", outcome: "too_large", rowsRead: 0, rowsWritten: 0 });
  });

  it("logs the outcome an operation reads from its result, for results that are outcomes of their own", async () => {
    const lines = await linesOf(() =>
      inObject((log) =>
        log.op(
          "check",
          () => ({ allowed: false }),
          (result) => (result.allowed ? "ok" : "denied"),
        ),
      ),
    );
    expect(lines[0]!.line).toMatchObject({ op: "check", outcome: "denied" });
  });

  it("logs an operation that throws as an error line and rethrows", async () => {
    const lines = await linesOf(() =>
      inObject(async (log) => {
        await expect(log.op("explode", () => Promise.reject(new RangeError("nope")))).rejects.toThrow("nope");
      }),
    );
    expect(lines).toMatchObject([
      { console: "error", line: { op: "explode", outcome: "error", error: "RangeError: nope" } },
    ]);
  });

  it("logs an alarm run with the queue's report and the platform's retry count", async () => {
    const report: RunReport = {
      ran: 3,
      succeeded: 2,
      failed: 1,
      deadLettered: 0,
      rowsRead: 9,
      rowsWritten: 4,
      nextAlarm: 5,
    };
    const lines = await linesOf(() => inObject((log) => log.alarm(async () => report, 2)));
    expect(lines).toEqual([
      {
        console: "log",
        line: {
          level: "info",
          message: "alarm run",
          app: "demo",
          op: "alarm",
          object: "ada",
          retryCount: 2,
          outcome: "ok",
          ms: expect.any(Number),
          ...report,
        },
      },
    ]);
  });

  it("logs an alarm invocation that throws as an error (the platform retries it) and rethrows", async () => {
    const lines = await linesOf(() =>
      inObject(async (log) => {
        await expect(log.alarm(() => Promise.reject(new Error("storage down")))).rejects.toThrow("storage down");
      }),
    );
    expect(lines).toMatchObject([
      {
        console: "error",
        line: { message: "alarm run failed", retryCount: 0, outcome: "error", error: "Error: storage down" },
      },
    ]);
  });

  it("logs a failed attempt of a task with its name, key and attempt, never its payload", async () => {
    const lines = await linesOf(() =>
      inObject((log) =>
        log.taskFailed(new TypeError("fetch failed"), { ...LETTER, id: 41, due: 1, attempts: 2, lastError: null }),
      ),
    );
    expect(lines).toEqual([
      {
        console: "error",
        line: {
          level: "error",
          message: "task failed",
          app: "demo",
          op: "task",
          object: "ada",
          outcome: "error",
          task: "purge",
          key: "purge",
          attempt: 3,
          maxAttempts: 5,
          error: "TypeError: fetch failed",
        },
      },
    ]);
  });

  it("logs a dead letter with the task's name, key, attempts and last error, never its payload", async () => {
    const lines = await linesOf(() => inObject((log) => log.deadLetter(LETTER)));
    expect(lines).toEqual([
      {
        console: "error",
        line: {
          level: "error",
          message: "task moved to the dead letters",
          app: "demo",
          op: "dead-letter",
          object: "ada",
          outcome: "dead",
          deadLetter: 7,
          task: "purge",
          key: "purge",
          attempts: 5,
          lastError: "Error: deleteAll failed",
        },
      },
    ]);
    expect(JSON.stringify(lines)).not.toContain("ada@example.com");
  });
});

describe("metrics", () => {
  it("writes one data point when a METRICS dataset is bound", () => {
    const points: AnalyticsEngineDataPoint[] = [];
    metric(
      { METRICS: { writeDataPoint: (point: AnalyticsEngineDataPoint) => points.push(point!) } },
      {
        index: "demo:change",
        blobs: ["increment"],
        doubles: [3],
      },
    );
    expect(points).toEqual([{ indexes: ["demo:change"], blobs: ["increment"], doubles: [3] }]);
  });

  it("counts alarm runs and dead letters of any object whose env has METRICS", async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const METRICS = { writeDataPoint: (point?: AnalyticsEngineDataPoint) => void points.push(point!) };
    const report: RunReport = {
      ran: 2,
      succeeded: 1,
      failed: 1,
      deadLettered: 0,
      rowsRead: 4,
      rowsWritten: 2,
      nextAlarm: null,
    };
    await linesOf(() =>
      runInDurableObject(env.STORAGE_FIXTURE.getByName("metrics"), async (fixture: StorageFixture) => {
        const log = new ObjectLog("demo", fixture.sql, "ada", { METRICS });
        await log.alarm(async () => report, 1);
        log.deadLetter({ ...LETTER, name: "purge", attempts: 5 });
      }),
    );
    expect(points).toEqual([
      { indexes: ["demo:alarm"], blobs: ["ok"], doubles: [2, 1, 1, 0, 1, expect.any(Number)] },
      { indexes: ["demo:dead-letter"], blobs: ["purge"], doubles: [5] },
    ]);
  });

  it("does nothing without the binding", () => {
    expect(() => metric({}, { index: "demo:change" })).not.toThrow();
  });
});
