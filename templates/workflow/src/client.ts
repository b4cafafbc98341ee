/**
 * A typed HTTP client for the workflow API (Hono's `hc` over the router's own types): routes,
 * parameters, bodies and answers are checked by TypeScript, and bodies the API does not require
 * (an event's, a restart's) may be left out. For Node, browsers and other Workers; a Worker on the
 * same account is better served by the RPC service (src/workflow-service.ts, typed by src/rpc.ts).
 *
 * @example
 * ```ts
 * // Node or a browser:
 * const workflows = workflowClient("https://workflow.example.workers.dev", { token: process.env.WORKFLOW_TOKEN });
 * const res = await workflows.api.instances.$post({ json: { workflow: "order", params: { orderId: "42", amount: 25 } } });
 * if (res.ok) console.log((await res.json()).id);
 * // Another Worker, through a service binding to this one ("services": [{ "binding": "WORKFLOW_API", "service": "workflow" }]):
 * const api = workflowClient("https://workflow", { token: env.WORKFLOW_TOKEN, fetch: env.WORKFLOW_API.fetch.bind(env.WORKFLOW_API) });
 * await api.api.instances[":id"].restart.$post({ param: { id: "order-42" } }); // no body: from the top
 * ```
 */
import { hc } from "hono/client";
import type { WorkflowApi } from "./worker";

/** Options of {@link workflowClient}. */
export interface WorkflowClientOptions {
  /**
   * The deployment's `WORKFLOW_TOKEN`, sent as `Authorization: Bearer <token>` on every request.
   * Every route but `GET /api/health` answers 401 without it.
   */
  token?: string;
  /**
   * The `fetch` to send requests with: the global one by default; from another Worker, a service
   * binding's (`env.WORKFLOW_API.fetch.bind(env.WORKFLOW_API)`), which reaches this Worker without
   * the public internet (the base URL's host is then ignored).
   */
  fetch?: typeof fetch;
}

/** The typed client of the workflow API at `baseUrl` (the Worker's origin, without `/api`). */
export function workflowClient(baseUrl: string, options: WorkflowClientOptions = {}) {
  const { token, ...rest } = options;
  return hc<WorkflowApi>(
    baseUrl,
    token === undefined ? rest : { ...rest, headers: { authorization: `Bearer ${token}` } },
  );
}
