/**
 * Operating the counter in production: the structured log lines (one per request, one per object
 * operation with its rows, one per alarm run), the optional Analytics Engine points, and
 * `GET /api/health`. See "Operating it" in the README.
 *
 * The Worker and its objects run in the same isolate here, so one `vi.spyOn(console, ...)` sees the
 * lines of both, in the order they were written: the object's line first (its operation ends
 * before the Worker answers), then the request's.
 */
import { env } from "cloudflare:workers";
import {
  expectHealthy,
  logLinesOf,
  metricPointsOf,
  operationLine,
  requestLine,
  succeededRunLine,
} from "../src/shared/testing";
import { describe, expect, it } from "vitest";
import { version } from "../package.json";
import { MAX_VALUE } from "../src/protocol";
import { api, fireAt, json, uniqueName } from "./helpers";

describe("log lines", () => {
  it("writes one operation line with its rows and one request line for an increment", async () => {
    const name = uniqueName();
    const lines = await logLinesOf(() => api(`/api/counters/${name}/increment`, json("POST", { by: 5 })));
    expect(lines).toEqual([
      operationLine("counter", { op: "increment", object: name, rowsRead: 2, rowsWritten: 1 }),
      requestLine("counter", { method: "POST", route: "/api/counters/:name/increment", object: name, status: 200 }),
    ]);
  });

  it("logs a change beyond the range as a warning (422) and the operation's outcome as out_of_range", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`, json("PUT", { value: MAX_VALUE }));
    const lines = await logLinesOf(() => api(`/api/counters/${name}/increment`, { method: "POST" }));
    expect(lines).toEqual([
      {
        console: "log",
        line: expect.objectContaining({ message: "operation", op: "increment", object: name, outcome: "out_of_range" }),
      },
      {
        console: "warn",
        line: expect.objectContaining({
          level: "warn",
          message: "request",
          route: "/api/counters/:name/increment",
          object: name,
          status: 422,
        }),
      },
    ]);
  });

  it("logs a scheduled reset's alarm run with the queue's report", async () => {
    const name = uniqueName();
    const created = await api(`/api/counters/${name}/schedule`, json("POST", { cron: "0 3 * * *", timezone: "UTC" }));
    const { next } = (await created.json()) as { next: string };
    const lines = await logLinesOf(() => fireAt(name, Date.parse(next) + 1));
    expect(lines).toEqual([succeededRunLine("counter", name)]);
  });

  it("never logs the query string or the authorization header, only the route's pattern", async () => {
    const name = uniqueName();
    const lines = await logLinesOf(() =>
      api(`/api/counters/${name}?token=s3cret-query`, { headers: { authorization: "Bearer s3cret-header" } }),
    );
    expect(lines.map(({ line }) => line.route ?? line.op)).toEqual(["get", "/api/counters/:name"]);
    expect(JSON.stringify(lines)).not.toContain("s3cret");
  });
});

describe("GET /api/health", () => {
  it("answers the app and its package.json version without creating or waking any counter", () =>
    expectHealthy(() => api("/api/health"), env.COUNTER, "counter", version));
});

describe("metrics (with a METRICS dataset bound)", () => {
  it("writes one counter:change point per change: the operation, and the amount or the new value", async () => {
    const name = uniqueName();
    const points = await metricPointsOf(env.COUNTER.getByName(name), async () => {
      await api(`/api/counters/${name}/increment`, json("POST", { by: 5 }));
      await api(`/api/counters/${name}/decrement`, json("POST", { by: 2 }));
      await api(`/api/counters/${name}`, json("PUT", { value: 100 }));
      await api(`/api/counters/${name}`, { method: "DELETE" });
      await api(`/api/counters/${name}`); // a read changes nothing: no point
    });
    expect(points).toEqual([
      { indexes: ["counter:change"], blobs: ["increment"], doubles: [5] },
      { indexes: ["counter:change"], blobs: ["decrement"], doubles: [2] },
      { indexes: ["counter:change"], blobs: ["set"], doubles: [100] },
      { indexes: ["counter:change"], blobs: ["reset"], doubles: [0] },
    ]);
  });

  it("writes no point for a change that was refused", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`, json("PUT", { value: -MAX_VALUE }));
    const points = await metricPointsOf(env.COUNTER.getByName(name), async () => {
      expect((await api(`/api/counters/${name}/decrement`, { method: "POST" })).status).toBe(422);
    });
    expect(points).toEqual([]);
  });

  it("writes a scheduled reset as a change, and the alarm run as a counter:alarm point", async () => {
    const name = uniqueName();
    const created = await api(
      `/api/counters/${name}/schedule`,
      json("POST", { cron: "0 3 * * *", timezone: "UTC", value: 7 }),
    );
    const { next } = (await created.json()) as { next: string };
    const points = await metricPointsOf(env.COUNTER.getByName(name), () => fireAt(name, Date.parse(next) + 1));
    expect(points).toEqual([
      { indexes: ["counter:change"], blobs: ["scheduled-reset"], doubles: [7] },
      // ran, succeeded, failed, dead-lettered, the platform's retry count, ms
      { indexes: ["counter:alarm"], blobs: ["ok"], doubles: [1, 1, 0, 0, 0, expect.any(Number)] },
    ]);
  });
});
