/**
 * A typed HTTP client for the workflow API, for Node, browsers and Workers without a service
 * binding. Routes, parameters, bodies and responses are checked by TypeScript against the router.
 * Workers on the same account are better served by the RPC service (src/workflow-service.ts).
 *
 * @example
 * ```ts
 * const workflows = workflowClient("https://workflow.example.workers.dev", { token: env.WORKFLOW_TOKEN });
 * const res = await workflows.api.instances.$post({ json: { workflow: "order", params: { orderId: "o-1", amount: 20 } } });
 * if (res.ok) console.log((await res.json()).id);
 * ```
 */
import { hc } from "hono/client";
import type { WorkflowApi } from "./worker";

/** `token`: the deployment's `WORKFLOW_TOKEN`, sent as `Authorization: Bearer <token>` on every request. */
export function workflowClient(baseUrl: string, options: { fetch?: typeof fetch; token?: string } = {}) {
  const { token, ...rest } = options;
  return hc<WorkflowApi>(
    baseUrl,
    token === undefined ? rest : { ...rest, headers: { authorization: `Bearer ${token}` } },
  );
}
