import { SqlDurableObject, type TaskInfo } from "./shared";
import type { WorkflowRegistry } from "./engine/define";
import { startInstance, type StartInput, type StartResult } from "./instances";

/** A scheduled workflow as `GET /api/schedules` shows it. */
export interface ScheduleView {
  workflow: string;
  cron: string;
  timezone: string;
  /** The next fire, ISO 8601. */
  next: string;
}

/** What the one-shot `start` task carries: the fire it starts, with its exact scheduled time. */
interface StartPayload {
  workflow: string;
  /** The scheduled fire time (queue clock, epoch ms): the instance id is made from it. */
  at: number;
  /** Whether the cron pattern has a seconds field, so the id shows seconds. */
  seconds: boolean;
}

/** The scheduler's timed work: each cron occurrence, and the instance it starts. */
type SchedulerTasks = {
  fire: (payload: { workflow: string }, task: TaskInfo) => void;
  start: (payload: StartPayload) => Promise<void>;
};

/**
 * One per scheduled workflow (named after it): its alarm queue holds one cron task, `fire`, that
 * hands each fire to a one-shot task, `start`, carrying the fire's scheduled time. The instance id
 * is made from that time, which a retry never changes (the queue moves a failed task's due time),
 * so a fire delivered twice, or retried after a start whose answer was lost, still starts one
 * instance; and it is exact to the second for a 6-field cron, so two fires in a minute start two.
 *
 * Abstract only in which workflows it schedules, like WorkflowRunner: the Worker entry
 * exports a one-line subclass that names them.
 */
export abstract class WorkflowScheduler extends SqlDurableObject<Env, SchedulerTasks> {
  /** The workflows whose schedules this object keeps: set by the subclass the Worker entry exports. */
  protected abstract readonly workflows: WorkflowRegistry;

  /** Starts the instance of a fire: `startInstance` with this object's workflows. Tests wrap it to lose an answer. */
  starter: (env: Env, input: StartInput) => Promise<StartResult> = (env, input) =>
    startInstance(env, this.workflows, input);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, "workflow");
  }

  protected tasks(): SchedulerTasks {
    return {
      // Synchronous, so it runs in the transaction that moves the cron task to its next
      // occurrence: each occurrence is handed on exactly once, with its own scheduled time.
      fire: (payload: { workflow: string }, task: TaskInfo) => {
        // The schedule (or the workflow) was removed from the code since this task was armed.
        if (!this.workflows.get(payload.workflow)?.schedule) {
          this.queue.cancel({ key: "fire" });
          return;
        }
        const start: StartPayload = { workflow: payload.workflow, at: task.due, seconds: hasSeconds(task.cron) };
        // Due at once (the queue runs it right after this run); keyed by the fire, so a fire
        // handed on twice is one start.
        this.queue.schedule("start", start, { at: task.due, key: `start:${task.due}` });
      },
      // Asynchronous (an RPC to the instance's object), so at-least-once and retried with backoff;
      // its payload, and so the id, stays the same on every attempt.
      start: async (payload: StartPayload) => {
        const id = `${payload.workflow}-${fireStamp(payload.at, payload.seconds)}`;
        const started = await this.starter(this.env, { workflow: payload.workflow, id });
        // Already started by an earlier attempt of this fire: nothing to do. A workflow removed
        // since the fire starts nothing. Anything else is thrown so the queue retries it.
        if (!started.ok && started.reason !== "exists" && started.reason !== "unknown_workflow") {
          throw new Error(`Could not start ${id}: ${JSON.stringify(started)}`);
        }
      },
    };
  }

  /**
   * Makes the cron task match the workflow's definition: armed when it has a schedule, re-armed
   * when the pattern or zone changed, cancelled when it has none. Cheap when nothing changed (one
   * indexed read), so every deploy's first sync brings schedules up to date.
   */
  sync(workflow: string): ScheduleView | null {
    return this.log.op("sync", () => {
      const schedule = this.workflows.get(workflow)?.schedule;
      if (!schedule) {
        this.queue.cancel({ key: "fire" });
        return null;
      }
      const timezone = schedule.timezone ?? "UTC";
      let task = this.queue.get({ key: "fire" });
      if (!task || task.cron !== schedule.cron || (task.timezone ?? "UTC") !== timezone) {
        task = this.queue.schedule("fire", { workflow }, { cron: schedule.cron, timezone, key: "fire" });
      }
      return { workflow, cron: schedule.cron, timezone, next: new Date(task.due).toISOString() };
    });
  }
}

/**
 * The fire time in UTC as an id suffix: `20260101T0600Z` (to the minute) for a 5-field cron,
 * `20260101T060030Z` (to the second) for a 6-field one; a time that is not a whole second (never,
 * from a cron) keeps its milliseconds, `20260101T060030250Z`. Exact, so distinct fires get distinct ids.
 */
export function fireStamp(at: number, seconds = false): string {
  const iso = new Date(at).toISOString(); // 2026-01-01T06:00:30.250Z
  const digits = iso.replace(/[-:.]/g, ""); // 20260101T060030250Z
  if (at % 1000 !== 0) return digits;
  if (seconds || at % 60_000 !== 0) return digits.slice(0, 15) + "Z";
  return digits.slice(0, 13) + "Z";
}

/** Whether a cron pattern has a seconds field (6 fields or more; croner reads seconds first). */
function hasSeconds(cron: string | null): boolean {
  return (cron?.trim().split(/\s+/).length ?? 5) > 5;
}
