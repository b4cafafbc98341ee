/**
 * The workflow Worker: validates every request, then forwards it to the WorkflowRunner object of
 * the instance named in the path (one object per instance). Built for a set of workflows by
 * {@link workflowWorker}; src/index.ts exports it, with the objects, for the shipped ones.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { validator } from "hono/validator";
import { z } from "zod";
import {
  apiWorker,
  describeIssues,
  issuesOf,
  jsonBody,
  limitBody,
  params,
  ProblemError,
  query,
  requireWebSocket,
} from "./shared";
import { version } from "../package.json";
import { requireToken } from "./auth";
import type { WorkflowRegistry } from "./engine/define";
import { runner, startInstance, type StartInput, type StartRefusal, type StartResult } from "./instances";
import { listInstances, workflowCounts } from "./listing";
import {
  BatchBody,
  CreateBody,
  INSTANCE_STATUSES,
  LIST_FILTERS,
  ListQuery,
  EventBody,
  EventsQuery,
  MAX_BODY_BYTES,
  RestartBody,
  eventId,
  eventType,
  instanceId,
  type BatchResult,
  type EventAnswer,
} from "./protocol";
import type { ScheduleView } from "./workflow-scheduler-object";

const byId = params(z.object({ id: instanceId }));
const byIdAndType = params(z.object({ id: instanceId, type: eventType }));
const byIdAndEvent = params(z.object({ id: instanceId, eventId }));

/** Turns a refusal into its problem+json answer. */
function refused(id: string | undefined, refusal: StartRefusal): never {
  throw problemOf(id, refusal);
}

/** The problem+json answer of a refusal. */
function problemOf(id: string | undefined, refusal: StartRefusal): ProblemError {
  switch (refusal.reason) {
    case "not_found":
      return new ProblemError(404, `There is no instance "${id}".`, { type: "no-such-instance" });
    case "exists":
      return new ProblemError(409, `An instance "${id}" already exists.`, { type: "instance-exists" });
    case "illegal_transition":
      return new ProblemError(
        409,
        `Cannot ${refusal.action === "event" ? "send an event to" : refusal.action} instance "${id}": it is ${refusal.status}.`,
        {
          type: "illegal-transition",
          // Not `status`: that member of a problem is the HTTP status.
          extensions: { instanceStatus: refusal.status, action: refusal.action },
        },
      );
    case "no_such_step":
      return new ProblemError(
        422,
        `Instance "${id}" has no call ${refusal.count} of step "${refusal.step}" to restart from ` +
          `(it has ${refusal.calls} call${refusal.calls === 1 ? "" : "s"} of that name).`,
        {
          type: "no-such-step",
          extensions: { step: refusal.step, count: refusal.count, calls: refusal.calls },
        },
      );
    case "too_many_events":
      return new ProblemError(
        409,
        `Instance "${id}" already holds ${refusal.limit} events of type "${refusal.type}" no step has consumed, ` +
          `and no wait is waiting for one. List them with GET /api/instances/${id}/events and delete some.`,
        { type: "too-many-events", extensions: { eventType: refusal.type, limit: refusal.limit } },
      );
    case "no_such_event":
      return new ProblemError(404, `Instance "${id}" has no pending event ${refusal.eventId}.`, {
        type: "no-such-event",
      });
    case "idempotency_key_reused":
      return new ProblemError(
        422,
        `Instance "${id}" already has an event with idempotency key "${refusal.key}", of another type or payload.`,
        { type: "idempotency-key-reused", extensions: { idempotencyKey: refusal.key } },
      );
    case "unknown_workflow":
      return new ProblemError(422, `There is no workflow "${refusal.workflow}".`, {
        type: "unknown-workflow",
        extensions: { known: refusal.known },
      });
    case "invalid_input":
      return new ProblemError(400, refusal.detail, { type: "invalid-input" });
    case "index_unavailable":
      return new ProblemError(
        503,
        `The index of instance "${id}"'s workflow could not be updated; nothing was deleted. Try again.`,
        {
          type: "index-unavailable",
          headers: { "retry-after": "1" },
        },
      );
    case "invalid_params":
      return new ProblemError(422, `Invalid params: ${describeIssues(refusal.errors)}`, {
        type: "invalid-params",
        extensions: { errors: refusal.errors },
      });
  }
}

/** One batch item's answer: the instance, or the problem a single create would have answered. */
function batchResult(id: string | undefined, result: StartResult | ProblemError): BatchResult {
  const problem = result instanceof ProblemError ? result : result.ok ? null : problemOf(id, result);
  if (!problem) {
    const { instance } = result as { instance: { id: string; status: BatchResult["status"] } };
    return { ok: true, id: instance.id, status: instance.status } as BatchResult;
  }
  return { ok: false, status: problem.problem.status, type: problem.problem.type, detail: problem.problem.detail };
}

/**
 * The filters of `GET /api/instances`: a key that is not a filter, a status that is none of the
 * seven or a workflow that is not registered is a 422 (the filter cannot match). A malformed
 * `limit` or `cursor` is then a 400, like the other queries (`query(ListQuery)`).
 *
 * Typed as a plain middleware: `query(ListQuery)` after it types what a client sends (every filter
 * optional), where this validator's own type would make a typed client send a query.
 */
function listFilters(workflows: WorkflowRegistry): MiddlewareHandler {
  return validator("query", (query) => {
    const unknown = Object.keys(query).filter((key) => !(LIST_FILTERS as readonly string[]).includes(key));
    if (unknown.length > 0) {
      throw new ProblemError(
        422,
        `Unknown filter ${unknown.map((key) => JSON.stringify(key)).join(", ")}: the filters are ${LIST_FILTERS.join(", ")}.`,
        { type: "unknown-filter", extensions: { filters: LIST_FILTERS } },
      );
    }
    const { status, workflow } = query;
    if (status !== undefined && !(INSTANCE_STATUSES as readonly unknown[]).includes(status)) {
      throw new ProblemError(422, `Unknown status ${JSON.stringify(status)}: one of ${INSTANCE_STATUSES.join(", ")}.`, {
        type: "unknown-status",
        extensions: { known: INSTANCE_STATUSES },
      });
    }
    if (workflow !== undefined && (typeof workflow !== "string" || !workflows.get(workflow))) {
      throw new ProblemError(422, `There is no workflow ${JSON.stringify(workflow)}.`, {
        type: "unknown-workflow",
        extensions: { known: workflows.names() },
      });
    }
    return query;
  });
}

/** The API for `workflows`, with its errors as problem+json. */
export function workflowApi(workflows: WorkflowRegistry) {
  const api = new Hono<{ Bindings: Env }>()
    // Params and event payloads are at most 1 MiB; refuse anything larger before reading it.
    .use(limitBody(MAX_BODY_BYTES))
    // Browsers cannot set headers on a WebSocket: this route alone also takes `?token=`.
    .get("/instances/:id/websocket", requireToken({ allowQuery: true }), byId, requireWebSocket, async (c) => {
      const { id } = c.req.valid("param");
      // The runner refuses an id with no instance before the upgrade (a bare 404, nothing stored):
      // the same problem as GET, instead of a socket that would never send anything.
      const response = await runner(c.env, id).fetch(c.req.raw);
      if (response.status === 404) refused(id, { ok: false, reason: "not_found" });
      return response;
    })
    // Everything below needs `Authorization: Bearer <WORKFLOW_TOKEN>` (GET /api/health is answered before).
    .use(requireToken())
    .post("/instances", jsonBody(CreateBody), async (c) => {
      const body = c.req.valid("json");
      const result = await startInstance(c.env, workflows, body);
      if (!result.ok) refused(body.id, result);
      return c.json(result.instance, result.created ? 201 : 200);
    })
    .post("/instances/batch", jsonBody(BatchBody), async (c) => {
      const { instances } = c.req.valid("json");
      const results = await Promise.all(
        instances.map(async (item): Promise<BatchResult> => {
          const parsed = CreateBody.safeParse(item);
          if (!parsed.success) {
            const errors = issuesOf(parsed.error);
            return batchResult(
              undefined,
              new ProblemError(422, `Invalid instance: ${describeIssues(errors)}`, { type: "invalid-body" }),
            );
          }
          const input: StartInput = parsed.data;
          return batchResult(input.id, await startInstance(c.env, workflows, input));
        }),
      );
      return c.json({ results });
    })
    .get("/instances", listFilters(workflows), query(ListQuery), async (c) => {
      return c.json(await listInstances(c.env, workflows, c.req.valid("query")));
    })
    .get("/workflows", async (c) => c.json({ workflows: await workflowCounts(c.env, workflows) }))
    .get("/instances/:id", byId, async (c) => {
      const { id } = c.req.valid("param");
      const instance = await runner(c.env, id).describe();
      if (!instance) refused(id, { ok: false, reason: "not_found" });
      return c.json(instance);
    })
    .delete("/instances/:id", byId, async (c) => {
      const { id } = c.req.valid("param");
      const result = await runner(c.env, id).delete();
      if (!result.ok) refused(id, result);
      return c.body(null, 204);
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
    .get("/schedules", async (c) => c.json({ schedules: await syncSchedules(c.env, workflows) }));
  // One log line per request (route pattern, instance id, status, time; never a body).
  const app = apiWorker({ app: "workflow", version, objectParam: "id" }, api);
  return app;
}

/** The API's route types, for Hono's typed client `hc<WorkflowApi>(url)`. */
export type WorkflowApi = ReturnType<typeof workflowApi>;

/**
 * The Worker for `workflows`: the API, and the hourly cron trigger that brings their schedules up
 * to date. src/index.ts builds it for the shipped workflows, test/worker.ts for those and the tests'.
 */
export function workflowWorker(workflows: WorkflowRegistry) {
  const app = workflowApi(workflows);
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
