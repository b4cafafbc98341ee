import {
  SqlDurableObject,
  acceptWatcher,
  answerPings,
  metric,
  migrate,
  parseFrame,
  publishToWatchers,
  reciprocateClose,
  rejectFrame,
  sendJson,
  type Migration,
} from "./shared";
import {
  CLIENT_MESSAGE_TYPES,
  ClientMessage,
  MAX_FRAME_BYTES,
  MAX_SCHEDULES,
  MAX_VALUE,
  type Schedule,
  type ScheduleBody,
  type ServerMessage,
} from "./protocol";

const migrations: Migration[] = [
  {
    name: "create counter",
    // One row per object: the object *is* the counter, so the table never grows. The row exists
    // from the start, so every change is a plain UPDATE: measured, an upsert reads 2 rows per
    // change where this reads 1 (see test/storage-cost.test.ts).
    sql: `CREATE TABLE counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
          INSERT INTO counter (id, value) VALUES (1, 0);`,
  },
];

/** The counter's timed work: the scheduled resets of `POST /api/counters/:name/schedule`. */
type CounterTasks = { reset: (payload: { value: number }) => void };

/** The result of adding a schedule: the schedule, or why not. */
export type ScheduleResult = { ok: true; schedule: Schedule } | { ok: false; reason: "too_many"; limit: number };

/** The result of a change: the new value, or the unchanged one when the change would leave the range. */
export type ChangeResult =
  { ok: true; value: number } | { ok: false; value: number; reason: "out_of_range"; limit: number };

/**
 * One named counter. Every change is a single SQL statement, so concurrent requests cannot
 * interleave and each change writes exactly one row.
 */
export class Counter extends SqlDurableObject<Env, CounterTasks> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, "counter");
    migrate(ctx.storage, migrations);
    answerPings(ctx);
  }

  /** A counter that never schedules anything never builds its queue, so plain counters stay one row. */
  protected tasks(): CounterTasks {
    return {
      // Synchronous: the reset commits in the same transaction that advances the task to its next
      // occurrence, so a reset happens exactly once per fire even if the alarm is retried.
      reset: (payload) => {
        const row = this.sql.one<{ value: number }>(
          "UPDATE counter SET value = ?1 WHERE id = 1 RETURNING value",
          payload.value,
        )!;
        this.changed("scheduled-reset", row.value);
        this.publish(row.value);
      },
    };
  }

  /** The current value; 0 for a counter never touched. Reads one row. */
  value(): number {
    return this.log.op("get", () => this.current());
  }

  /**
   * Adds `delta` (negative to subtract) unless the result would leave [-limit, limit].
   * The range check is inside the statement: no read-then-write, no window for a race.
   */
  add(delta: number, limit: number = MAX_VALUE): ChangeResult {
    const op = delta < 0 ? "decrement" : "increment";
    return this.log.op(op, (): ChangeResult => {
      const row = this.sql.one<{ value: number }>(
        "UPDATE counter SET value = value + ?1 WHERE id = 1 AND abs(value + ?1) <= ?2 RETURNING value",
        delta,
        limit,
      );
      if (!row) return { ok: false, value: this.current(), reason: "out_of_range", limit };
      this.changed(op, Math.abs(delta));
      this.publish(row.value);
      return { ok: true, value: row.value };
    });
  }

  /** Sets the value (validated by the caller to be within range). */
  set(value: number): number {
    return this.log.op("set", () => this.write("set", value));
  }

  /** Sets the value back to 0. */
  reset(): number {
    return this.log.op("reset", () => this.write("reset", 0));
  }

  /**
   * Resets the counter to `value` on a cron pattern in a time zone. The same pattern, zone and
   * value scheduled again is the same schedule (idempotent, by key).
   */
  addSchedule(schedule: ScheduleBody): ScheduleResult {
    return this.log.op("schedule", () => this.createSchedule(schedule));
  }

  private createSchedule(schedule: ScheduleBody): ScheduleResult {
    const key = `reset:${schedule.cron}|${schedule.timezone}|${schedule.value}`;
    const existing = this.queue.list({ limit: MAX_SCHEDULES + 1 }).items;
    if (existing.length >= MAX_SCHEDULES && !existing.some((task) => task.key === key)) {
      return { ok: false, reason: "too_many", limit: MAX_SCHEDULES };
    }
    const task = this.queue.schedule(
      "reset",
      { value: schedule.value },
      { cron: schedule.cron, timezone: schedule.timezone, key },
    );
    return { ok: true, schedule: toSchedule(task) };
  }

  /** The scheduled resets, soonest first. */
  schedules(): Schedule[] {
    return this.log.op("list-schedules", () => this.queue.list({ limit: MAX_SCHEDULES }).items.map(toSchedule));
  }

  /** Cancels a scheduled reset; `false` when there is none with this id. */
  cancelSchedule(id: number): boolean {
    return this.log.op("cancel-schedule", () => this.queue.cancel({ id }));
  }

  /** Only WebSocket upgrades arrive here; everything else is RPC. */
  override async fetch(): Promise<Response> {
    return acceptWatcher(this.ctx, { type: "value", value: this.current() } satisfies ServerMessage);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const frame = parseFrame(ClientMessage, message, { maxBytes: MAX_FRAME_BYTES, knownTypes: CLIENT_MESSAGE_TYPES });
    if (!frame.ok) return rejectFrame(ws, frame);
    const { type, by } = frame.data;
    const result = this.add(type === "increment" ? by : -by);
    if (!result.ok) {
      sendJson(ws, {
        type: "error",
        code: "out_of_range",
        detail: `${type} by ${by} would take the counter beyond ±${result.limit}; it stays at ${result.value}.`,
      } satisfies ServerMessage);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    reciprocateClose(ws, code, reason);
  }

  /** The current value, unlogged: what operations read inside their own line. Reads one row. */
  private current(): number {
    return this.sql.one<{ value: number }>("SELECT value FROM counter WHERE id = 1")!.value;
  }

  private write(op: "set" | "reset", value: number): number {
    const row = this.sql.one<{ value: number }>("UPDATE counter SET value = ?1 WHERE id = 1 RETURNING value", value)!;
    this.changed(op, row.value);
    this.publish(row.value);
    return row.value;
  }

  /**
   * One `counter:change` point per change, when the `METRICS` dataset is bound: blob the operation,
   * double the amount (increment, decrement) or the new value (set, reset, scheduled-reset).
   */
  private changed(op: string, amount: number): void {
    metric(this.env, { index: "counter:change", blobs: [op], doubles: [amount] });
  }

  private publish(value: number): void {
    publishToWatchers(this.ctx, () => ({ type: "value", value }) satisfies ServerMessage);
  }
}

function toSchedule(task: {
  id: number;
  cron: string | null;
  timezone: string | null;
  payload: unknown;
  due: number;
}): Schedule {
  return {
    id: task.id,
    cron: task.cron!,
    timezone: task.timezone ?? "UTC",
    value: (task.payload as { value: number }).value,
    next: new Date(task.due).toISOString(),
  };
}
