/**
 * Starting and steering instances, shared by the HTTP routes and the RPC service: input is
 * validated here, before any object is touched.
 */
import { issuesOf } from "./shared";
import type { StartInput, StartResult } from "./rpc";
import type { WorkflowRegistry } from "./engine/define";

export type { StartInput, StartRefusal, StartResult } from "./rpc";

/** The object of instance `id`. */
export function runner(env: Env, id: string) {
  return env.WORKFLOW_RUNNER.getByName(id);
}

/**
 * Validates the workflow name (one of `workflows`) and its params (with the workflow's own schema,
 * defaults applied), then creates the instance. `id` is a random UUID when absent.
 */
export async function startInstance(env: Env, workflows: WorkflowRegistry, input: StartInput): Promise<StartResult> {
  const workflow = workflows.get(input.workflow);
  if (!workflow) return { ok: false, reason: "unknown_workflow", workflow: input.workflow, known: workflows.names() };
  let params = input.params;
  if (workflow.params) {
    const parsed = workflow.params.safeParse(params);
    if (!parsed.success) return { ok: false, reason: "invalid_params", errors: issuesOf(parsed.error) };
    params = parsed.data;
  }
  const id = input.id ?? crypto.randomUUID();
  return runner(env, id).create({ id, workflow: workflow.name, params }, { onConflict: input.onConflict });
}
