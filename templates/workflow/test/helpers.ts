/**
 * The workflow test helper: start instances over HTTP, drive their alarm-queue runs by hand, move
 * their clock, send events and read every step. Copy it next to your own workflow's tests.
 */
import { json, type SocketClient, socketClient, uniqueName } from "../src/shared/testing";

// Shared with the other apps' tests; imported from here like the rest.
export { json } from "../src/shared/testing";
import { env, exports } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { InstancePage, InstanceView, StatusCounts, WorkflowSummary } from "../src/protocol";
import type { IndexUpdate, WorkflowIndex } from "../src/workflow-index-object";
import type { WorkflowRunner } from "../src/workflow-runner-object";

/** A instance id no other test uses, so tests never share an object. */
export const uniqueId = (prefix = "i") => uniqueName(prefix);

/** The bearer token the tests' Worker is configured with (vitest.config.ts, `WORKFLOW_TOKEN`). */
export const TOKEN = "test-token";

/** Calls the Worker as any HTTP client would, with the bearer token unless `init` sets its own header. */
export function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${TOKEN}`);
  return exports.default.fetch(`https://workflow.example${path}`, { ...init, headers });
}

/** The object of instance `id`. */
export function stub(id: string) {
  return env.WORKFLOW_RUNNER.getByName(id);
}

/** A fixed point in time for tests: 2026-01-01T00:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1);

/**
 * Starts an instance over HTTP with its clock at `at` (default {@link T0}) and no jitter, and
 * returns its id. Nothing runs until {@link run}.
 */
export async function start(workflow: string, params?: unknown, options: { id?: string; at?: number } = {}) {
  const id = options.id ?? uniqueId(workflow);
  await setClock(id, options.at ?? T0);
  const response = await api("/api/instances", json("POST", { workflow, id, params }));
  if (response.status !== 201) throw new Error(`start ${workflow}: ${response.status} ${await response.text()}`);
  return id;
}

/**
 * Sets the instance's clock (and fixes jitter's random number). The clock is a field of the
 * object, so it is set again after an eviction.
 */
export async function setClock(id: string, at: number, random = 0): Promise<void> {
  await runInDurableObject(stub(id), (runner: WorkflowRunner) => {
    runner.clock = () => at;
    runner.random = () => random;
  });
}

/**
 * Fires the instance's alarm once: one run of the alarm queue, which runs the workflow until it
 * completes, fails or suspends. Tests fire it by hand because the queue's clock is theirs; the
 * platform would fire it at the due time. Returns false when no alarm was set.
 */
export function run(id: string): Promise<boolean> {
  return runDurableObjectAlarm(stub(id));
}

/**
 * Calls the object's `alarm()` again, as the platform does after `retryCount` alarm invocations
 * in a row failed (the object crashed): with the retry information, which the alarm queue uses to
 * count a crashing task. `runDurableObjectAlarm` removes the alarm before running it, so after a
 * crash in a test nothing else would fire it.
 */
export async function retryAlarm(id: string, retryCount = 1): Promise<void> {
  await runInDurableObject(stub(id), (runner: WorkflowRunner) =>
    runner.alarm({ retryCount, isRetry: true, scheduledTime: Date.now() }),
  );
}

/** Moves the clock to `at` and fires the alarm (a sleep ends, a retry runs, a wait times out). */
export async function runAt(id: string, at: number): Promise<boolean> {
  await setClock(id, at);
  return run(id);
}

/** The instance as `GET /api/instances/:id` shows it. */
export async function instance(id: string): Promise<InstanceView> {
  const response = await api(`/api/instances/${id}`);
  if (response.status !== 200) throw new Error(`get ${id}: ${response.status} ${await response.text()}`);
  return (await response.json()) as InstanceView;
}

/** Sends an event over HTTP. */
export function sendEvent(id: string, type: string, payload?: unknown): Promise<Response> {
  return api(`/api/instances/${id}/events/${type}`, json("POST", { payload }));
}

/** Calls a lifecycle route (`pause`, `resume`, `terminate`, `restart`). */
export function lifecycle(id: string, action: string, body?: unknown): Promise<Response> {
  return api(`/api/instances/${id}/${action}`, body === undefined ? { method: "POST" } : json("POST", body));
}

/** The pending run task's due time (queue clock), or null: where the instance will wake. */
export async function nextRunAt(id: string): Promise<number | null> {
  return runInDurableObject(
    stub(id),
    (runner: WorkflowRunner) =>
      runner.sql.one<{ due: number }>("SELECT due FROM _alarm_queue_tasks WHERE key = 'run'")?.due ?? null,
  );
}

export type Client = SocketClient;

/** Opens an instance's live-progress WebSocket and collects what the server sends. */
export async function connect(id: string): Promise<Client> {
  return socketClient(await api(`/api/instances/${id}/websocket`, { headers: { upgrade: "websocket" } }));
}

/** The due time (queue clock) of the instance's pending index update, or null when none is pending. */
export async function indexUpdateAt(id: string): Promise<number | null> {
  return runInDurableObject(stub(id), (runner: WorkflowRunner) =>
    runner.sql.hasTable("_alarm_queue_tasks")
      ? (runner.sql.one<{ due: number }>("SELECT due FROM _alarm_queue_tasks WHERE key = 'index'")?.due ?? null)
      : null,
  );
}

/**
 * Delivers the instance's pending index update: fires its alarm with its clock moved to the
 * update's due time (a status change during a run is due a millisecond after the run started, as
 * the queue schedules work a run creates). Returns whether an update was pending.
 */
export async function flushIndex(id: string): Promise<boolean> {
  const due = await indexUpdateAt(id);
  if (due === null) return false;
  const clock = await runInDurableObject(stub(id), (runner: WorkflowRunner) => runner.clock());
  if (due > clock) await setClock(id, due);
  await run(id);
  return true;
}

/** The index object of workflow `name`. */
export function indexStub(name: string) {
  return env.WORKFLOW_INDEX.getByName(name);
}

/**
 * Makes the next SQL statement of the index of `workflow` that starts with `statement` throw, once,
 * as a storage fault would: the call it belongs to fails and its transaction rolls back.
 */
export async function failIndexWriteOnce(workflow: string, statement: string): Promise<void> {
  await runInDurableObject(indexStub(workflow), (index: WorkflowIndex) => {
    const run = index.sql.run.bind(index.sql);
    let thrown = false;
    index.sql.run = (...args: Parameters<typeof run>) => {
      if (!thrown && args[0].startsWith(statement)) {
        thrown = true;
        throw new Error("injected storage fault");
      }
      return run(...args);
    };
  });
}

/** The update the runner of `id` would send its index now: its instance row, in the index's fields. */
export async function indexUpdateOf(id: string): Promise<IndexUpdate> {
  return runInDurableObject(stub(id), (runner: WorkflowRunner) =>
    runner.sql.one<IndexUpdate & Record<string, string | number>>(
      `SELECT instance_id AS id, incarnation, status, created_at AS createdAt, updated_at AS updatedAt,
           index_version AS version FROM instance`,
    )!,
  );
}

/** `GET /api/instances` with `query`: the page, after asserting a 200. */
export async function listPage(query = ""): Promise<InstancePage> {
  const response = await api(`/api/instances${query}`);
  if (response.status !== 200) throw new Error(`list ${query}: ${response.status} ${await response.text()}`);
  return (await response.json()) as InstancePage;
}

/** The counts per status of workflow `name`, as `GET /api/workflows` shows them. */
export async function countsOf(name: string): Promise<StatusCounts> {
  const response = await api("/api/workflows");
  const body = (await response.json()) as { workflows: WorkflowSummary[] };
  return body.workflows.find((workflow) => workflow.name === name)!.counts;
}
