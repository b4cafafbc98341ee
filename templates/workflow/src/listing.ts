/**
 * Listing and counting instances through the workflows' indexes (one WorkflowIndex object per
 * workflow name), shared by the HTTP routes and the RPC service. Input is validated before.
 */
import type { WorkflowRegistry } from "./engine/define";
import {
  encodeCursor,
  type IndexCursor,
  type InstancePage,
  type InstanceStatus,
  type ListedInstance,
  type WorkflowSummary,
} from "./protocol";

/** The index object of workflow `name`. */
export function workflowIndex(env: Env, name: string) {
  return env.WORKFLOW_INDEX.getByName(name);
}

/** Instances per page when `limit` is not given. */
export const DEFAULT_PAGE_SIZE = 50;

/** What a page of instances is asked for (validated: a registered workflow, a status, 1–100). */
export interface PageRequest {
  workflow?: string;
  status?: InstanceStatus;
  /** Default {@link DEFAULT_PAGE_SIZE}. */
  limit?: number;
  cursor?: IndexCursor;
}

/**
 * A page of instances, newest first (creation time, then id). With a workflow, one index object
 * reads `limit + 1` entries through its keyset index. Without, every registered workflow's index is
 * asked for the same page in parallel and the pages are merged here: `(createdAt, id)` orders all
 * instances of all workflows (an id is one instance whatever its workflow), so one cursor serves both.
 */
export async function listInstances(
  env: Env,
  workflows: WorkflowRegistry,
  request: PageRequest,
): Promise<InstancePage> {
  const names = request.workflow === undefined ? workflows.names() : [request.workflow];
  const limit = request.limit ?? DEFAULT_PAGE_SIZE;
  const pages = await Promise.all(
    names.map(async (name) => {
      const entries = await workflowIndex(env, name).page({
        status: request.status,
        cursor: request.cursor,
        limit,
      });
      return entries.map((entry): ListedInstance & { at: number } => ({
        id: entry.id,
        workflow: name,
        status: entry.status,
        createdAt: new Date(entry.created_at).toISOString(),
        updatedAt: new Date(entry.updated_at).toISOString(),
        at: entry.created_at,
      }));
    }),
  );
  const merged = pages.flat().sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const shown = merged.slice(0, limit);
  const last = shown.at(-1);
  return {
    instances: shown.map(({ at: _at, ...instance }) => instance),
    next: merged.length > limit && last ? encodeCursor({ createdAt: last.at, id: last.id }) : null,
  };
}

/** Every registered workflow with its counts per status (every status present, zeros included). */
export async function workflowCounts(env: Env, workflows: WorkflowRegistry): Promise<WorkflowSummary[]> {
  return Promise.all(
    workflows.names().map(async (name) => ({ name, counts: await workflowIndex(env, name).counts() })),
  );
}
