/**
 * The RPC surface of {@link WorkflowRpc} (`WorkflowService`) and the types of its answers, with no
 * reference to this app's `Env`, so another Worker can type its service binding without merging
 * this app's bindings into its own (which `wrangler types -c caller -c workflow` does):
 *
 * ```ts
 * // the caller's src/env.d.ts (its other bindings from its own `wrangler types`)
 * import type { WorkflowRpc } from "<your copy of src>/rpc"; // this file and protocol.ts, engine/errors.ts
 * declare global { interface Env { WORKFLOWS: Service<WorkflowRpc> } }
 * ```
 *
 * `WorkflowService implements WorkflowRpc`, so the two cannot drift; test/caller/ compiles a caller
 * with its own `Env` against this file alone. Refusals are values with a `reason`, never exceptions.
 */
import type {
  EventPage,
  InstancePage,
  InstanceStatus,
  InstanceSummary,
  InstanceView,
  StepCall,
  WorkflowSummary,
} from "./protocol";

/**
 * Why a call about an instance was refused; nothing was changed.
 *
 * - `not_found`: no instance has that id.
 * - `exists`: a create with an id already taken (by another workflow's instance too).
 * - `illegal_transition`: the instance's `status` does not allow `action` (see the README's API table).
 * - `no_such_step`: a restart `from` the `count`-th call of `step`, which has only `calls` calls.
 * - `too_many_events`: `limit` events of `type` are pending and no wait waits for that type.
 * - `no_such_event`: no pending event `eventId`.
 * - `idempotency_key_reused`: the `key` was used for an event of another type or payload.
 * - `invalid_input`: an id, a type, a key, a size or an option the API refuses (`detail` says which).
 * - `index_unavailable`: a delete could not update the workflow's index; nothing was deleted; try again.
 */
export type Refusal =
  | { ok: false; reason: "not_found" }
  | { ok: false; reason: "exists" }
  | { ok: false; reason: "illegal_transition"; status: InstanceStatus; action: string }
  | { ok: false; reason: "no_such_step"; step: string; count: number; calls: number }
  | { ok: false; reason: "too_many_events"; type: string; limit: number }
  | { ok: false; reason: "no_such_event"; eventId: number }
  | { ok: false; reason: "idempotency_key_reused"; key: string }
  | { ok: false; reason: "invalid_input"; detail: string }
  | { ok: false; reason: "index_unavailable" };

/** A refusal for input the service refuses before any object is touched. */
export type InvalidInput = Extract<Refusal, { reason: "invalid_input" }>;

/** Why a start was refused: any {@link Refusal}, an unknown workflow (with the `known` ones), or params its schema refuses. */
export type StartRefusal =
  | Refusal
  | { ok: false; reason: "unknown_workflow"; workflow: string; known: string[] }
  | { ok: false; reason: "invalid_params"; errors: { path: string; message: string }[] };

/** The answer of a lifecycle call (pause, resume, terminate, restart): the instance's new status. */
export type LifecycleResult = { ok: true; instance: InstanceSummary } | Refusal;

/** The answer of a create: `created` is false when `onConflict: "return"` found the instance there. */
export type CreateResult = { ok: true; instance: InstanceSummary; created: boolean } | Refusal;

/**
 * The answer of a start: `created` is false when `onConflict: "return"` answered with the instance
 * that already had the id.
 */
export type StartResult = { ok: true; instance: InstanceSummary; created: boolean } | StartRefusal;

/** The answer of `sendEvent`: the instance as it was when the event was first accepted, and the event's id. */
export type EventResult = { ok: true; instance: InstanceSummary; eventId: number } | Refusal;

/**
 * What starts an instance: the workflow's name, its params (any JSON value, checked by the
 * workflow's schema), and the instance id if chosen (a random UUID when absent).
 */
export interface StartInput {
  workflow: string;
  id?: string;
  params?: unknown;
  /** `"return"`: an id already taken by an instance of this workflow answers with that instance. */
  onConflict?: "error" | "return";
}

/** The filters and page of `list` (`limit` 1–100, default 50; `cursor`: the `next` of the previous page). */
export interface ListOptions {
  workflow?: string;
  status?: InstanceStatus;
  limit?: number;
  cursor?: string;
}

/** The type, cursor and page size of `listEvents` (`limit` 1–100, default 50; `after`: the previous page's `next`). */
export interface EventsOptions {
  type?: string;
  after?: string;
  limit?: number;
}

/** The methods another Worker calls on `WorkflowService` over a service binding. */
export interface WorkflowRpc extends Rpc.WorkerEntrypointBranded {
  start(input: StartInput): Promise<StartResult>;
  startBatch(inputs: StartInput[]): Promise<StartResult[] | InvalidInput>;
  list(
    options?: ListOptions,
  ): Promise<{ ok: true; page: InstancePage } | InvalidInput | Extract<StartRefusal, { reason: "unknown_workflow" }>>;
  counts(): Promise<WorkflowSummary[]>;
  delete(id: string): Promise<{ ok: true } | Refusal>;
  get(id: string): Promise<InstanceView | null>;
  sendEvent(id: string, type: string, payload?: unknown, options?: { idempotencyKey?: string }): Promise<EventResult>;
  listEvents(id: string, options?: EventsOptions): Promise<{ ok: true; page: EventPage } | Refusal>;
  deleteEvent(id: string, eventId: number): Promise<{ ok: true } | Refusal>;
  pause(id: string): Promise<LifecycleResult>;
  resume(id: string): Promise<LifecycleResult>;
  terminate(id: string): Promise<LifecycleResult>;
  restart(id: string, from?: string | StepCall): Promise<LifecycleResult>;
}
