/**
 * How a workflow is written: an async function of its params and a `step` object. Each step's
 * result is stored once it succeeds; when the instance runs again (after a sleep, an event, a
 * retry or a crash) the function replays from the top and completed steps return their stored
 * result instead of running again.
 */
import type { z } from "zod";
import { boundedMilliseconds, type Duration } from "./duration";

/** How a failing step is retried. */
export interface RetryConfig {
  /** Retries after the first attempt. 0 means one attempt only. */
  limit: number;
  /** The delay before the first retry. */
  delay: Duration;
  /** How later delays grow: `delay`, `delay·n`, or `delay·2^(n−1)` before retry n. */
  backoff: "constant" | "linear" | "exponential";
  /**
   * Up to this fraction is taken off each delay at random (0 to 1), so instances that failed
   * together do not retry together. A delay is never longer than the backoff says.
   */
  jitter: number;
}

/** What one attempt of a step is told. */
export interface AttemptInfo {
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the attempt's `timeout` passes: hand it to `fetch` so the request stops too. */
  signal: AbortSignal;
}

/** Options of `step.do`. */
export interface StepConfig<T> {
  retries?: Partial<RetryConfig>;
  /** Longest one attempt may run before it fails with a StepTimeoutError (and is retried). */
  timeout?: Duration;
  /**
   * The undo of this step (saga). When the workflow fails, the undos of its completed steps run
   * in reverse order, each as a durable step of its own (`undo <name>`), retried like one.
   */
  compensate?: (result: T) => Promise<unknown> | unknown;
}

/** An event as `step.waitForEvent` returns it. */
export interface WorkflowEvent<T = unknown> {
  type: string;
  payload: T;
  /** When the instance received it, ISO 8601. */
  timestamp: string;
}

/** The `step` object a workflow receives. */
export interface WorkflowStep {
  /**
   * Runs `fn` once and stores its JSON result; every replay returns the stored value.
   *
   * @example
   * ```ts
   * const charge = await step.do("charge", { retries: { limit: 3, delay: "1 second", backoff: "exponential" } },
   *   async () => payments.charge(params.orderId));
   * ```
   */
  do<T>(name: string, fn: (attempt: AttemptInfo) => Promise<T> | T): Promise<T>;
  do<T>(name: string, config: StepConfig<T>, fn: (attempt: AttemptInfo) => Promise<T> | T): Promise<T>;
  /** Suspends the instance for `duration` (through the alarm queue, not a timer). */
  sleep(name: string, duration: Duration): Promise<void>;
  /** Suspends the instance until `until` (immediately done when it is past). */
  sleepUntil(name: string, until: Date | number): Promise<void>;
  /**
   * Resolves with the first event of `type` not yet consumed, sent before or after this call.
   * Throws a WaitTimeoutError when none comes within `timeout` (default 24 hours).
   */
  waitForEvent<T = unknown>(name: string, options: { type: string; timeout?: Duration }): Promise<WorkflowEvent<T>>;
}

/** What a workflow's function gets besides params and steps. */
export interface WorkflowContext {
  instanceId: string;
  env: Env;
}

/** A cron schedule that starts an instance at each fire (see WorkflowScheduler). */
export interface WorkflowSchedule {
  cron: string;
  /** IANA time zone; UTC when absent. */
  timezone?: string;
}

/** The statuses an instance leaves only by a restart, each kept for its retention and then deleted. */
export type RetainedStatus = "complete" | "errored" | "terminated";

/**
 * How long a finished instance is kept, by the status it finished in, before it is deleted (its
 * object's storage freed and its index entry removed), as `DELETE /api/instances/:id` does.
 */
export type RetentionConfig = Partial<Record<RetainedStatus, Duration>>;

/** The retention of a workflow that sets none: a week for success and termination, 30 days for errors. */
export const DEFAULT_RETENTION: Readonly<Record<RetainedStatus, Duration>> = {
  complete: "7 days",
  errored: "30 days",
  terminated: "7 days",
};

/**
 * At most `limit` instances of the workflow run steps at once; the others stay `queued` and start in
 * creation order as slots free. Sleeping and waiting instances hold no slot.
 */
export interface ConcurrencyConfig {
  limit: number;
}

/** The largest concurrency limit: one coordinator object holds the slots, each a row. */
export const MAX_CONCURRENCY_LIMIT = 10_000;

/** A workflow definition: its name, its function and optionally a params schema and a schedule. */
export interface Workflow<P = unknown, O = unknown> {
  readonly name: string;
  readonly run: (params: P, step: WorkflowStep, context: WorkflowContext) => Promise<O>;
  /** Validates params when an instance is created; a mismatch is refused before anything is stored. */
  readonly params?: z.ZodType<P>;
  readonly schedule?: WorkflowSchedule;
  /** Milliseconds a finished instance is kept, by final status ({@link DEFAULT_RETENTION} where unset). */
  readonly retention: Readonly<Record<RetainedStatus, number>>;
  /** How many instances may run at once (none: no limit). */
  readonly concurrency?: ConcurrencyConfig;
}

/** The pattern of workflow names (they appear in URLs and object names). */
export const WORKFLOW_NAME_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;

/**
 * Defines a workflow. List it in src/workflows/index.ts to make it startable.
 *
 * @example
 * ```ts
 * export const greet = defineWorkflow("greet", async (params: { name: string }, step) => {
 *   const greeting = await step.do("compose", async () => `Hello, ${params.name}`);
 *   await step.sleep("pause", "1 minute");
 *   return { greeting };
 * });
 * ```
 */
export function defineWorkflow<P, O>(
  name: string,
  run: (params: P, step: WorkflowStep, context: WorkflowContext) => Promise<O>,
  options: {
    params?: z.ZodType<P>;
    schedule?: WorkflowSchedule;
    retention?: RetentionConfig;
    concurrency?: ConcurrencyConfig;
  } = {},
): Workflow<P, O> {
  if (!WORKFLOW_NAME_PATTERN.test(name)) {
    throw new Error(`Workflow name "${name}" must match ${WORKFLOW_NAME_PATTERN}.`);
  }
  const { retention, ...rest } = options;
  const limit = options.concurrency?.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > MAX_CONCURRENCY_LIMIT)) {
    throw new RangeError(`concurrency.limit of "${name}" must be a whole number from 1 to ${MAX_CONCURRENCY_LIMIT}.`);
  }
  const kept = { ...DEFAULT_RETENTION, ...retention };
  // Checked here, when the module loads: a bad duration never reaches a running instance.
  const ms = (status: RetainedStatus) => boundedMilliseconds(kept[status], `retention.${status} of "${name}"`);
  return {
    name,
    run,
    ...rest,
    retention: { complete: ms("complete"), errored: ms("errored"), terminated: ms("terminated") },
  };
}

/** Any workflow, whatever its params and output (`never` params: a registry only stores them). */
export interface AnyWorkflow {
  readonly name: string;
  readonly run: (params: never, step: WorkflowStep, context: WorkflowContext) => Promise<unknown>;
  readonly params?: z.ZodType;
  readonly schedule?: WorkflowSchedule;
  readonly retention: Readonly<Record<RetainedStatus, number>>;
  readonly concurrency?: ConcurrencyConfig;
}

/**
 * The workflows an app can start, by name. Fixed when built: the Worker entry builds one and
 * gives it to the Worker and the objects (src/index.ts), so no code adds a workflow later.
 */
export class WorkflowRegistry {
  private readonly byName = new Map<string, AnyWorkflow>();

  /** Throws when two workflows share a name: that is a mistake. */
  constructor(workflows: readonly AnyWorkflow[]) {
    for (const workflow of workflows) {
      if (this.byName.has(workflow.name)) throw new Error(`Workflow "${workflow.name}" is already registered.`);
      this.byName.set(workflow.name, workflow);
    }
  }

  get(name: string): Workflow<unknown, unknown> | undefined {
    return this.byName.get(name) as Workflow<unknown, unknown> | undefined;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): Workflow<unknown, unknown>[] {
    return [...this.byName.values()] as unknown as Workflow<unknown, unknown>[];
  }
}
