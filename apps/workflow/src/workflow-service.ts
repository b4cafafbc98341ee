/**
 * The typed RPC client for other Workers: bind this Worker as a service with
 * `"entrypoint": "WorkflowService"` and call its methods; types come from this class.
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
import { startInstance, runner, type StartResult } from "./instances";
import { INSTANCE_ID_PATTERN, MAX_BODY_BYTES, eventType, instanceId, type InstanceView } from "./protocol";
import type { LifecycleResult } from "./workflow-runner-object";

/** Thrown for input the HTTP API would answer with a 400 or 413. */
export class InvalidInputError extends Error {
  override name = "InvalidInputError";
}

export class WorkflowService extends WorkerEntrypoint<Env> {
  /** Starts an instance of `workflow`; refusals are values (`ok: false` with a reason), not throws. */
  async start(input: { workflow: string; id?: string; params?: unknown }): Promise<StartResult> {
    if (input.id !== undefined) check(instanceId, input.id, "id");
    checkSize(input.params, "params");
    return startInstance(this.env, input);
  }

  /** The instance with every step, or null. */
  async get(id: string): Promise<InstanceView | null> {
    return runner(this.env, check(instanceId, id, "id")).describe();
  }

  async sendEvent(id: string, type: string, payload?: unknown): Promise<LifecycleResult> {
    check(eventType, type, "type");
    checkSize(payload, "payload");
    return runner(this.env, check(instanceId, id, "id")).sendEvent(type, payload);
  }

  async pause(id: string): Promise<LifecycleResult> {
    return runner(this.env, check(instanceId, id, "id")).pause();
  }

  async resume(id: string): Promise<LifecycleResult> {
    return runner(this.env, check(instanceId, id, "id")).resume();
  }

  async terminate(id: string): Promise<LifecycleResult> {
    return runner(this.env, check(instanceId, id, "id")).terminate();
  }

  async restart(id: string, from?: string): Promise<LifecycleResult> {
    return runner(this.env, check(instanceId, id, "id")).restart(from);
  }
}

function check(schema: typeof instanceId | typeof eventType, value: string, what: string): string {
  if (!schema.safeParse(value).success) {
    throw new InvalidInputError(`Invalid ${what} ${JSON.stringify(value)}: ids match ${INSTANCE_ID_PATTERN}.`);
  }
  return value;
}

function checkSize(value: unknown, what: string): void {
  const bytes = value === undefined ? 0 : new TextEncoder().encode(JSON.stringify(value)).byteLength;
  if (bytes > MAX_BODY_BYTES)
    throw new InvalidInputError(`The ${what} are ${bytes} bytes of JSON; at most ${MAX_BODY_BYTES}.`);
}
