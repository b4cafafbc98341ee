/**
 * The workflow Worker: validates every request, then forwards it to the WorkflowRunner object of
 * the instance named in the path (one object per instance). Built for a set of workflows by
 * {@link workflowWorker}; src/index.ts exports it, with the objects, for the shipped ones.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  apiWorker,
  describeIssues,
  jsonBody,
  limitBody,
  params,
  ProblemError,
  query,
  requireWebSocket,
} from "./shared";
import { version } from "../package.json";
import type { WorkflowRegistry } from "./engine/define";
import { runner, startInstance, type StartRefusal } from "./instances";
import {
  CreateBody,
  EventBody,
  EventsQuery,
  MAX_BODY_BYTES,
  RestartBody,
  eventId,
  eventType,
  instanceId,
  type EventAnswer,
} from "./protocol";
import type { ScheduleView } from "./workflow-scheduler-object";

const byId = params(z.object({ id: instanceId }));
const byIdAndType = params(z.object({ id: instanceId, type: eventType }));
const byIdAndEvent = params(z.object({ id: instanceId, eventId }));

/** Turns a refusal into its problem+json answer. */
function refused(id: string | undefined, refusal: StartRefusal): never {
  switch (refusal.reason) {
    case "not_found":
      throw new ProblemError(404, `There is no instance "${id}".`, { type: "no-such-instance" });
    case "exists":
      throw new ProblemError(409, `An instance "${id}" already exists.`, { type: "instance-exists" });
    case "illegal_transition":
      throw new ProblemError(
        409,
        `Cannot ${refusal.action === "event" ? "send an event to" : refusal.action} instance "${id}": it is ${refusal.status}.`,
        {
          type: "illegal-transition",
          // Not `status`: that member of a problem is the HTTP status.
          extensions: { instanceStatus: refusal.status, action: refusal.action },
        },
      );
    case "no_such_step":
      throw new ProblemError(
        422,
        `Instance "${id}" has no call ${refusal.count} of step "${refusal.step}" to restart from ` +
          `(it has ${refusal.calls} call${refusal.calls === 1 ? "" : "s"} of that name).`,
        {
          type: "no-such-step",
          extensions: { step: refusal.step, count: refusal.count, calls: refusal.calls },
        },
      );
    case "too_many_events":
      throw new ProblemError(
        409,
        `Instance "${id}" already holds ${refusal.limit} events of type "${refusal.type}" no step has consumed, ` +
          `and no wait is waiting for one. List them with GET /api/instances/${id}/events and delete some.`,
        { type: "too-many-events", extensions: { eventType: refusal.type, limit: refusal.limit } },
      );
    case "no_such_event":
      throw new ProblemError(404, `Instance "${id}" has no pending event ${refusal.eventId}.`, {
        type: "no-such-event",
      });
    case "idempotency_key_reused":
      throw new ProblemError(
        422,
        `Instance "${id}" already has an event with idempotency key "${refusal.key}", of another type or payload.`,
        { type: "idempotency-key-reused", extensions: { idempotencyKey: refusal.key } },
      );
    case "unknown_workflow":
      throw new ProblemError(422, `There is no workflow "${refusal.workflow}".`, {
        type: "unknown-workflow",
        extensions: { known: refusal.known },
      });
    case "invalid_input":
      throw new ProblemError(400, refusal.detail, { type: "invalid-input" });
    case "invalid_params":
      throw new ProblemError(422, `Invalid params: ${describeIssues(refusal.errors)}`, {
        type: "invalid-params",
        extensions: { errors: refusal.errors },
      });
  }
}

/** The API for `workflows`, with its errors as problem+json. */
function routes(workflows: WorkflowRegistry) {
  const api = new Hono<{ Bindings: Env }>()
    // Params and event payloads are at most 1 MiB; refuse anything larger before reading it.
    .use(limitBody(MAX_BODY_BYTES))
    .post("/instances", jsonBody(CreateBody), async (c) => {
      const body = c.req.valid("json");
      const result = await startInstance(c.env, workflows, body);
      if (!result.ok) refused(body.id, result);
      return c.json(result.instance, 201);
    })
    .get("/instances/:id", byId, async (c) => {
      const { id } = c.req.valid("param");
      const instance = await runner(c.env, id).describe();
      if (!instance) refused(id, { ok: false, reason: "not_found" });
      return c.json(instance);
    })
    .post("/instances/:id/events/:type", byIdAndType, jsonBody(EventBody, { optional: true }), async (c) => {
      const { id, type } = c.req.valid("param");
      const { payload, idempotencyKey } = c.req.valid("json");
      const result = await runner(c.env, id).sendEvent(type, payload, { idempotencyKey });
      if (!result.ok) refused(id, result);
      return c.json({ ...result.instance, eventId: result.eventId } satisfies EventAnswer, 202);
    })
    .get("/instances/:id/events", byId, query(EventsQuery), async (c) => {
      const { id } = c.req.valid("param");
      const result = await runner(c.env, id).listEvents(c.req.valid("query"));
      if (!result.ok) refused(id, result);
      return c.json(result.page);
    })
    .delete("/instances/:id/events/:eventId", byIdAndEvent, async (c) => {
      const { id, eventId } = c.req.valid("param");
      const result = await runner(c.env, id).deleteEvent(eventId);
      if (!result.ok) refused(id, result);
      return c.body(null, 204);
    })
    .post("/instances/:id/pause", byId, async (c) => {
      const { id } = c.req.valid("param");
      const result = await runner(c.env, id).pause();
      if (!result.ok) refused(id, result);
      return c.json(result.instance);
    })
    .post("/instances/:id/resume", byId, async (c) => {
      const { id } = c.req.valid("param");
      const result = await runner(c.env, id).resume();
      if (!result.ok) refused(id, result);
      return c.json(result.instance);
    })
    .post("/instances/:id/terminate", byId, async (c) => {
      const { id } = c.req.valid("param");
      const result = await runner(c.env, id).terminate();
      if (!result.ok) refused(id, result);
      return c.json(result.instance);
    })
    .post("/instances/:id/restart", byId, jsonBody(RestartBody, { optional: true }), async (c) => {
      const { id } = c.req.valid("param");
      const { from } = c.req.valid("json");
      const result = await runner(c.env, id).restart(from);
      if (!result.ok) refused(id, result);
      return c.json(result.instance);
    })
    .get("/instances/:id/websocket", byId, requireWebSocket, async (c) => {
      const { id } = c.req.valid("param");
      return runner(c.env, id).fetch(c.req.raw);
    })
    .get("/schedules", async (c) => c.json({ schedules: await syncSchedules(c.env, workflows) }));
  // One log line per request (route pattern, instance id, status, time; never a body).
  const app = apiWorker({ app: "workflow", version, objectParam: "id" }, api);
  return app;
}

/** The API's route types, for Hono's typed client `hc<WorkflowApi>(url)`. */
export type WorkflowApi = ReturnType<typeof routes>;

/**
 * The Worker for `workflows`: the API, and the hourly cron trigger that brings their schedules up
 * to date. src/index.ts builds it for the shipped workflows, test/worker.ts for those and the tests'.
 */
export function workflowWorker(workflows: WorkflowRegistry) {
  const app = routes(workflows);
  return {
    fetch: app.fetch,
    async scheduled(_controller, env, ctx) {
      ctx.waitUntil(syncSchedules(env, workflows));
    },
  } satisfies ExportedHandler<Env>;
}

/**
 * Brings each scheduled workflow's WorkflowScheduler in line with the code and lists the next
 * fires. One RPC per scheduled workflow; called hourly by the cron trigger and by `GET /api/schedules`.
 */
async function syncSchedules(env: Env, workflows: WorkflowRegistry): Promise<ScheduleView[]> {
  const scheduled = workflows.all().filter((workflow) => workflow.schedule);
  const views = await Promise.all(
    scheduled.map((workflow) => env.WORKFLOW_SCHEDULER.getByName(workflow.name).sync(workflow.name)),
  );
  return views.flatMap((view) =>
    view ? [{ workflow: view.workflow, cron: view.cron, timezone: view.timezone, next: view.next }] : [],
  );
}
