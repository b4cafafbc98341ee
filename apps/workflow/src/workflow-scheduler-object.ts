import { DurableObject } from "cloudflare:workers";
import { AlarmQueue, Sql, type TaskInfo } from "@durable-patterns/shared";
import { startInstance } from "./instances";
import { registry } from "./workflows";

/** A scheduled workflow as `GET /api/schedules` shows it. */
export interface ScheduleView {
  workflow: string;
  cron: string;
  timezone: string;
  /** The next fire, ISO 8601. */
  next: string;
}

/**
 * One per scheduled workflow (named after it): its alarm queue holds one cron task that starts an
 * instance at each fire. The instance id is derived from the fire time, so a fire delivered twice
 * (the queue is at-least-once for async work) still starts one instance.
 */
export class WorkflowScheduler extends DurableObject<Env> {
  readonly sql: Sql;

  /** The queue clock. Tests move it to a fire time; in production `Date.now`. */
  clock: () => number = Date.now;

  private scheduler?: AlarmQueue<{ fire: (payload: { workflow: string }, task: TaskInfo) => Promise<void> }>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = new Sql(ctx.storage);
  }

  private get queue() {
    return (this.scheduler ??= new AlarmQueue(this.ctx, {
      sql: this.sql,
      now: () => this.clock(),
      handlers: {
        fire: async (payload: { workflow: string }, task: TaskInfo) => {
          // The schedule (or the workflow) was removed from the code since this task was armed.
          if (!registry.get(payload.workflow)?.schedule) {
            this.queue.cancel({ key: "fire" });
            return;
          }
          const id = `${payload.workflow}-${fireStamp(task.due)}`;
          const started = await startInstance(this.env, { workflow: payload.workflow, id });
          // Already started by an earlier delivery of this fire: nothing to do. Anything else is
          // thrown so the queue retries it with backoff.
          if (!started.ok && started.reason !== "exists") {
            throw new Error(`Could not start ${id}: ${JSON.stringify(started)}`);
          }
        },
      },
    }));
  }

  /**
   * Makes the cron task match the workflow's definition: armed when it has a schedule, re-armed
   * when the pattern or zone changed, cancelled when it has none. Cheap when nothing changed (one
   * indexed read), so every deploy's first sync brings schedules up to date.
   */
  sync(workflow: string): ScheduleView | null {
    const schedule = registry.get(workflow)?.schedule;
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
  }

  /** All timed work runs through the shared alarm queue, the only code that sets the alarm. */
  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    await this.queue.run(info);
  }
}

/** `20260101T0600Z`: the fire time to the minute, in UTC, as an id suffix. */
export function fireStamp(due: number): string {
  return new Date(due).toISOString().slice(0, 16).replace(/[-:]/g, "") + "Z";
}
