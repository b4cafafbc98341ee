/**
 * The README's typed HTTP client snippet ("Typed HTTP client") in this Worker, through its service
 * binding to the workflow app: compiled by `pnpm typecheck` (tsc -p test/caller/tsconfig.client.json,
 * with the compiler settings the README gives), never run.
 */
import { workflowClient } from "../../src/client";

export async function useClient(env: Env) {
  const workflows = workflowClient("https://workflow", {
    token: env.WORKFLOW_TOKEN,
    fetch: env.WORKFLOW_API.fetch.bind(env.WORKFLOW_API),
  });
  const created = await workflows.api.instances.$post({
    json: { workflow: "order", id: "order-42", params: { orderId: "42", amount: 25 } },
  });
  if (created.status === 201) console.log((await created.json()).status);
  await workflows.api.instances[":id"].events[":type"].$post({ param: { id: "order-42", type: "approval" } }); // no body
  await workflows.api.instances[":id"].restart.$post({ param: { id: "order-42" } }); // no body: from the top
  const page = await (await workflows.api.instances.$get({ query: { workflow: "order", status: "waiting" } })).json();
  return page;
}
