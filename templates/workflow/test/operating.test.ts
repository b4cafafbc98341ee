/**
 * Operating it: the structured lines the Worker and the objects write (one per request, one per
 * object operation, one per alarm run), the health check, and the metric points written when a
 * `METRICS` Analytics Engine dataset is bound. What a line never holds is tested as much as what it
 * holds: params, event payloads and step outputs stay out of the logs.
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { alarmRunLine, logLinesOf, metricPointsOf, operationLine, requestLine } from "../src/shared/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { WorkflowRunner } from "../src/workflow-runner-object";
import {
  T0,
  api,
  instance,
  json,
  lifecycle,
  run,
  runAt,
  sendEvent,
  start as startOver,
  stub,
  uniqueId,
} from "./helpers";
import worker from "./worker";
import { hooks } from "./workflows";

/** A string that must never reach a log line. */
const SECRET = "s3cret-4c1d-payload";

/** The instances this file created. */
const created = new Set<string>();

/** `start` from the helpers, remembering the instance so that its alarm is deleted after the test. */
async function start(...args: Parameters<typeof startOver>): Promise<string> {
  const id = await startOver(...args);
  created.add(id);
  return id;
}

afterEach(async () => {
  vi.restoreAllMocks();
  // A queued instance's alarm would fire by itself later, in another test: its lines and metric
  // points (the fake dataset is bound on an env all objects share) would land in that test's.
  // Terminating cancels its run task, and the queue deletes the alarm (a 409 for one that ended).
  await Promise.all([...created].map((id) => lifecycle(id, "terminate")));
  created.clear();
});

describe("request and operation lines", () => {
  it("logs a created instance as the object's operation line, with its rows, then the request line", async () => {
    const id = uniqueId("logged");
    created.add(id);
    const lines = await logLinesOf(() =>
      api("/api/instances", json("POST", { workflow: "test-steps", id, params: { n: 2, note: SECRET } })),
    );
    expect(lines).toEqual([
      operationLine("workflow", { op: "create", object: id, rowsRead: 12, rowsWritten: 9 }),
      // The instance is named in the body, not the path: the request line has no object.
      requestLine("workflow", { method: "POST", route: "/api/instances", object: null, status: 201 }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it("logs a refused event (409) at info with the refusal's reason, and without its payload", async () => {
    const id = await start("test-steps", { n: 1 });
    await lifecycle(id, "terminate");
    const lines = await logLinesOf(() => sendEvent(id, "ping", { card: SECRET }));
    expect(lines).toEqual([
      operationLine("workflow", {
        op: "event",
        object: id,
        outcome: "illegal_transition",
        rowsRead: 1,
        rowsWritten: 0,
      }),
      // A 409 is the API working (the instance is over), not a client bug: info, not warn.
      requestLine("workflow", { method: "POST", route: "/api/instances/:id/events/:type", object: id, status: 409 }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it("logs a refused restart (422, no such step) as a warning: the client asked for something that is not there", async () => {
    const id = await start("test-steps", { n: 1 });
    const lines = await logLinesOf(() => lifecycle(id, "restart", { from: "no such step" }));
    expect(lines).toEqual([
      operationLine("workflow", { op: "restart", object: id, outcome: "no_such_step", rowsRead: 3, rowsWritten: 0 }),
      requestLine("workflow", { method: "POST", route: "/api/instances/:id/restart", object: id, status: 422 }),
    ]);
  });
});

describe("alarm run lines", () => {
  it("logs one line per run of an instance, with the queue's report and its rows", async () => {
    const id = await start("test-steps", { n: 2, note: SECRET });
    const lines = await logLinesOf(() => run(id));
    expect(lines).toEqual([
      // The alarm's first task sends the create's index update: the index object's operation line.
      operationLine("workflow", { op: "index-apply", object: "test-steps", rowsRead: 3, rowsWritten: 4 }),
      // Two tasks: that update, then the run. The run's own status changes are due next (T0 + 1).
      alarmRunLine("workflow", id, { ran: 2, succeeded: 2, failed: 0, deadLettered: 0, nextAlarm: T0 + 1 }),
    ]);
    // The run did complete the instance, and neither its params nor its output were logged.
    expect((await instance(id)).status).toBe("complete");
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it("passes the platform's retry count on to the line of a retried alarm", async () => {
    const id = await start("test-steps", { n: 1 });
    const lines = await logLinesOf(() =>
      runInDurableObject(stub(id), (runner: WorkflowRunner) =>
        runner.alarm({ retryCount: 2, isRetry: true, scheduledTime: Date.now() }),
      ),
    );
    expect(lines.filter((l) => l.line.object === id)).toMatchObject([
      { console: "log", line: { message: "alarm run", object: id, retryCount: 2 } },
    ]);
  });
});

describe("what is never logged", () => {
  it("keeps params, event payloads and step outputs out of every line, from start to finish", async () => {
    const id = uniqueId("waiter");
    created.add(id);
    const lines = await logLinesOf(async () => {
      await start("test-waiter", { note: SECRET }, { id });
      await sendEvent(id, "ping", SECRET);
      await sendEvent(id, "ping", { nested: [SECRET] });
      await run(id);
      await api(`/api/instances/${id}/events`);
      await sendEvent(id, "pong", SECRET);
      await run(id);
    });
    // The secret was really there: stored as params, and the output the steps returned.
    const view = await instance(id);
    expect(view.status).toBe("complete");
    expect(JSON.stringify(view.params)).toContain(SECRET);
    expect(JSON.stringify(view.output)).toContain(SECRET);
    expect(lines.map((l) => l.line.op ?? l.line.message)).toEqual([
      "create",
      "request",
      "event",
      "request",
      "event",
      "request",
      "index-apply", // the index object's line: the create's update, sent by the first alarm
      "alarm",
      "list-events",
      "request",
      "event",
      "request",
      "alarm", // the first run's status changes are due at T0 + 1; the clock stands at T0
    ]);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });
});

describe("GET /api/health", () => {
  it("answers 200 with the app and its version", async () => {
    const response = await api("/api/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, app: "workflow", version: "0.0.0" });
  });

  it("answers without touching any object: the Worker runs it with no bindings at all", async () => {
    // Every binding the Worker reads is recorded; reading WORKFLOW_RUNNER would also fail the request.
    const touched: PropertyKey[] = [];
    const noBindings = new Proxy({} as Env, {
      get: (_target, key) => {
        touched.push(key);
        return undefined;
      },
    });
    const ctx = createExecutionContext();
    const lines = await logLinesOf(async () => {
      const response = await worker.fetch(new Request("https://workflow.example/api/health"), noBindings, ctx);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true, app: "workflow", version: "0.0.0" });
    });
    await waitOnExecutionContext(ctx);
    // Only the LOG_LEVEL var, for its own request line: no object binding.
    expect(touched).toEqual(["LOG_LEVEL"]);
    expect(lines).toEqual([
      requestLine("workflow", { method: "GET", route: "/api/health", object: null, status: 200 }),
    ]);
  });
});

describe("metrics", () => {
  it("writes one point per step attempt, one for the finished instance and one for the alarm run", async () => {
    const id = await start("test-steps", { n: 2, note: SECRET });
    // The run is 5 s after the instance was created (on the instance's clock, which the test holds
    // still: each step attempt takes 0 ms on it).
    const points = await metricPointsOf(stub(id), () => runAt(id, T0 + 5_000));
    expect(points).toEqual([
      { indexes: ["workflow:step"], blobs: ["test-steps", "do", "complete"], doubles: [1, 0] },
      { indexes: ["workflow:step"], blobs: ["test-steps", "do", "complete"], doubles: [1, 0] },
      { indexes: ["workflow:instance"], blobs: ["test-steps", "complete"], doubles: [5_000] },
      // ran, succeeded, failed, dead-lettered, the platform's retry count, ms (2 tasks: the create's
      // index update, then the run)
      { indexes: ["workflow:alarm"], blobs: ["ok"], doubles: [2, 2, 0, 0, 0, expect.any(Number)] },
    ]);
    expect(JSON.stringify(points)).not.toContain(SECRET);
  });

  it("marks a failed attempt that will be retried as retrying, and its retry by its attempt number", async () => {
    const id = await start("test-flaky", { limit: 1, delay: 1_000, backoff: "constant" });
    hooks.set(id, { failures: 1 });
    const points = await metricPointsOf(stub(id), async () => {
      await run(id);
      await runAt(id, T0 + 1_000);
    });
    expect(points.filter((point) => point.indexes?.[0] !== "workflow:alarm")).toEqual([
      { indexes: ["workflow:step"], blobs: ["test-flaky", "do", "retrying"], doubles: [1, 0] },
      { indexes: ["workflow:step"], blobs: ["test-flaky", "do", "complete"], doubles: [2, 0] },
      { indexes: ["workflow:instance"], blobs: ["test-flaky", "complete"], doubles: [1_000] },
    ]);
  });

  it("marks a step that fails for good as errored, and the instance as errored", async () => {
    const id = await start("test-flaky", { limit: 0, delay: 1_000, backoff: "constant" });
    hooks.set(id, { nonRetryable: true });
    const points = await metricPointsOf(stub(id), () => run(id));
    expect(points.filter((point) => point.indexes?.[0] !== "workflow:alarm")).toEqual([
      { indexes: ["workflow:step"], blobs: ["test-flaky", "do", "errored"], doubles: [1, 0] },
      { indexes: ["workflow:instance"], blobs: ["test-flaky", "errored"], doubles: [0] },
    ]);
  });

  it("writes a point when an instance is terminated", async () => {
    const id = await start("test-steps", { n: 1 });
    const points = await metricPointsOf(stub(id), () => lifecycle(id, "terminate"));
    expect(points).toEqual([{ indexes: ["workflow:instance"], blobs: ["test-steps", "terminated"], doubles: [0] }]);
  });

  it("writes nothing, and fails nothing, without a METRICS binding (wrangler.jsonc binds none)", async () => {
    const id = await start("test-steps", { n: 2 });
    await run(id);
    expect((await instance(id)).status).toBe("complete");
    await runInDurableObject(stub(id), (runner: WorkflowRunner) => {
      expect((runner as unknown as { env: Record<string, unknown> }).env.METRICS).toBeUndefined();
    });
  });
});
