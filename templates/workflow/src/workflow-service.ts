/**
 * The typed RPC client for other Workers: bind this Worker as a service with
 * `"entrypoint": "WorkflowService"` and call its methods; types come from this class. Refusals
 * (unknown workflow, bad params or ids, illegal transitions) are values with a `reason`, never
 * exceptions, so callers switch on them. Its surface and answers are {@link WorkflowRpc}
 * (src/rpc.ts), which types a caller's binding without this app's `Env`.
 *
 * @example
 * ```ts
 * // wrangler.jsonc of the caller: "services": [{ "binding": "WORKFLOWS", "service": "workflow", "entrypoint": "WorkflowService" }]
 * const started = await env.WORKFLOWS.start({ workflow: "order", params: { orderId: "o-1", amount: 20 } });
 * if (started.ok) await env.WORKFLOWS.sendEvent(started.instance.id, "approval", { approved: true });
 * const view = await env.WORKFLOWS.get(started.instance.id); // status, output, every step
 * ```
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { WorkflowRegistry } from "./engine/define";
import { startInstance, runner } from "./instances";
import { listInstances, workflowCounts } from "./listing";
import {
  EventsQuery,
  ListQuery,
  MAX_BATCH,
  MAX_BODY_BYTES,
  RestartBody,
  eventType,
  idempotencyKey,
  instanceId,
  type EventPage,
  type InstancePage,
  type InstanceView,
  type StepCall,
  type WorkflowSummary,
} from "./protocol";
import type {
  EventResult,
  EventsOptions,
  InvalidInput as Invalid,
  LifecycleResult,
  ListOptions,
  Refusal,
  StartInput,
  StartRefusal,
  StartResult,
  WorkflowRpc,
} from "./rpc";

/**
 * Abstract only in which workflows it starts, like WorkflowRunner: the Worker entry exports
 * a one-line subclass that names them.
 */
export abstract class WorkflowService extends WorkerEntrypoint<Env> implements WorkflowRpc {
  /** The workflows this service starts: set by the subclass the Worker entry exports. */
  protected abstract readonly workflows: WorkflowRegistry;

  /** Starts an instance of `workflow` (`id` is a random UUID when absent). */
  async start(input: StartInput): Promise<StartResult> {
    const invalid = (input.id === undefined ? null : checkId(input.id)) ?? checkSize(input.params, "params");
    if (invalid) return invalid;
    return startInstance(this.env, this.workflows, input);
  }

  /**
   * Starts up to 100 instances, each as `start` would, in parallel: one result per input, in order;
   * a refused input refuses only itself.
   */
  async startBatch(inputs: StartInput[]): Promise<StartResult[] | Invalid> {
    if (!Array.isArray(inputs) || inputs.length < 1 || inputs.length > MAX_BATCH) {
      return invalidInput(`A batch holds 1 to ${MAX_BATCH} instances.`);
    }
    return Promise.all(inputs.map((input) => this.start(input)));
  }

  /**
   * A page of instances from the workflows' indexes, newest first (`limit` 1–100, default 50;
   * `cursor`: the `next` of the previous page). Lags the instances a little: see the README's index.
   */
  async list(
    options: ListOptions = {},
  ): Promise<{ ok: true; page: InstancePage } | Invalid | Extract<StartRefusal, { reason: "unknown_workflow" }>> {
    if (options.workflow !== undefined && !this.workflows.get(options.workflow)) {
      return { ok: false, reason: "unknown_workflow", workflow: options.workflow, known: this.workflows.names() };
    }
    const parsed = ListQuery.safeParse({
      ...options,
      limit: options.limit === undefined ? undefined : String(options.limit),
    });
    if (!parsed.success) return invalidInput(`Invalid options: ${parsed.error.issues[0]!.message}.`);
    return { ok: true, page: await listInstances(this.env, this.workflows, parsed.data) };
  }

  /** Every registered workflow with its instances counted per status (zeros included). */
  async counts(): Promise<WorkflowSummary[]> {
    return workflowCounts(this.env, this.workflows);
  }

  /**
   * Deletes a finished instance (complete, errored, terminated): its index entry and its object's
   * storage. Any other status is `illegal_transition`; `index_unavailable` deleted nothing.
   */
  async delete(id: string): Promise<{ ok: true } | Refusal | Invalid> {
    return checkId(id) ?? runner(this.env, id).delete();
  }

  /** The instance with every step, or null when there is none (or the id cannot be one). */
  async get(id: string): Promise<InstanceView | null> {
    if (checkId(id)) return null;
    return runner(this.env, id).describe();
  }

  /**
   * Sends an event; a waiting instance runs at once. With `idempotencyKey`, a repeat (a retry after
   * a lost answer) answers like the first and stores nothing.
   */
  async sendEvent(
    id: string,
    type: string,
    payload?: unknown,
    options: { idempotencyKey?: string } = {},
  ): Promise<EventResult> {
    if (!eventType.safeParse(type).success) return invalidInput(`Invalid event type ${JSON.stringify(type)}.`);
    const key = options.idempotencyKey;
    if (key !== undefined && !idempotencyKey.safeParse(key).success) {
      return invalidInput(`Invalid idempotency key ${JSON.stringify(key)}.`);
    }
    return (
      checkId(id) ??
      checkSize(payload, "payload") ??
      runner(this.env, id).sendEvent(type, payload, { idempotencyKey: key })
    );
  }

  /** Pending events, grouped by type and in order of receipt, a page at a time (`limit` 1–100, default 50). */
  async listEvents(
    id: string,
    options: EventsOptions = {},
  ): Promise<{ ok: true; page: EventPage } | Refusal | Invalid> {
    const parsed = EventsQuery.safeParse({
      ...options,
      limit: options.limit === undefined ? undefined : String(options.limit),
    });
    if (!parsed.success) return invalidInput(`Invalid options: ${parsed.error.issues[0]!.message}.`);
    return checkId(id) ?? runner(this.env, id).listEvents(parsed.data);
  }

  /** Deletes a pending event (by the `eventId` its send answered): no wait will receive it. */
  async deleteEvent(id: string, eventId: number): Promise<{ ok: true } | Refusal | Invalid> {
    if (!Number.isSafeInteger(eventId) || eventId < 1) return invalidInput(`Invalid event id ${eventId}.`);
    return checkId(id) ?? runner(this.env, id).deleteEvent(eventId);
  }

  async pause(id: string): Promise<LifecycleResult> {
    return checkId(id) ?? runner(this.env, id).pause();
  }

  async resume(id: string): Promise<LifecycleResult> {
    return checkId(id) ?? runner(this.env, id).resume();
  }

  async terminate(id: string): Promise<LifecycleResult> {
    return checkId(id) ?? runner(this.env, id).terminate();
  }

  /**
   * Runs the instance again from the top, from the first call of step `from` (a name), or from its
   * `count`-th call (`{ name, count }`, 1-based).
   */
  async restart(id: string, from?: string | StepCall): Promise<LifecycleResult> {
    if (from !== undefined && !RestartBody.safeParse({ from }).success) {
      return invalidInput(`Invalid from ${JSON.stringify(from)}: a step name, or { name, count } with count ≥ 1.`);
    }
    return checkId(id) ?? runner(this.env, id).restart(from);
  }
}

function invalidInput(detail: string): Invalid {
  return { ok: false, reason: "invalid_input", detail };
}

function checkId(id: string): Invalid | null {
  const result = instanceId.safeParse(id);
  return result.success ? null : invalidInput(`Invalid id ${JSON.stringify(id)}: ${result.error.issues[0]!.message}.`);
}

function checkSize(value: unknown, what: string): Invalid | null {
  const bytes = value === undefined ? 0 : new TextEncoder().encode(JSON.stringify(value)).byteLength;
  return bytes > MAX_BODY_BYTES
    ? invalidInput(`The ${what} is ${bytes} bytes of JSON; at most ${MAX_BODY_BYTES}.`)
    : null;
}
