/**
 * Starting and steering instances, shared by the HTTP routes and the RPC service: input is
 * validated here, before any object is touched.
 */
import { issuesOf } from "./shared";
import type { Refusal } from "./workflow-runner-object";
import type { InstanceSummary } from "./protocol";
import type { WorkflowRegistry } from "./engine/define";

/** Why a start was refused before reaching an object. */
export type StartRefusal =
  | Refusal
  | { ok: false; reason: "unknown_workflow"; workflow: string; known: string[] }
  | { ok: false; reason: "invalid_params"; errors: { path: string; message: string }[] };

/**
 * The answer of {@link startInstance}: `created` is false when `onConflict: "return"` answered with
 * the instance that already had the id.
 */
export type StartResult = { ok: true; instance: InstanceSummary; created: boolean } | StartRefusal;

/** The object of instance `id`. */
export function runner(env: Env, id: string) {
  return env.WORKFLOW_RUNNER.getByName(id);
}

/** What starts an instance: the workflow's name, its params, and the instance id if chosen. */
export interface StartInput {
  workflow: string;
  id?: string;
  params?: unknown;
  /** `"return"`: an id already taken by an instance of this workflow answers with that instance. */
  onConflict?: "error" | "return";
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
