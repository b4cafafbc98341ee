/**
 * The one queued alarm of a Durable Object.
 *
 * An object has a single alarm. This queue keeps every timed task in SQLite (indexed by due time),
 * points the alarm at the earliest one, and runs due tasks in batches when it fires. It is the only
 * code that calls `setAlarm`/`deleteAlarm`, and it calls them only when the earliest due time
 * changes. Failures are retried with exponential backoff and full jitter, then dead-lettered.
 * Nothing lives only in memory: eviction and hibernation lose nothing.
 *
 * Delivery is at-least-once. A synchronous handler runs inside the `transactionSync` that removes
 * its task, so its SQL effects happen exactly once. See docs/alarm-queue.md.
 *
 * @example
 * ```ts
 * export class Counter extends DurableObject<Env> {
 *   readonly queue = new AlarmQueue(this.ctx, {
 *     handlers: {
 *       // Synchronous: its writes commit together with the task's removal (exactly once).
 *       reset: (payload: { to: number }) => {
 *         this.ctx.storage.sql.exec("UPDATE counter SET value = ?", payload.to);
 *       },
 *     },
 *   });
 *
 *   resetDaily() {
 *     return this.queue.schedule("reset", { to: 0 }, { cron: "0 0 * * *", timezone: "Europe/Berlin", key: "reset" });
 *   }
 *
 *   async alarm() {
 *     await this.queue.run();
 *   }
 * }
 * ```
 */
import { migrate } from "./migrations";
import { Sql } from "./sql";
import { AlarmQueueError, PayloadTooLargeError } from "./alarm-queue/errors";
import {
  QUEUE_MIGRATIONS,
  QUEUE_MIGRATIONS_TABLE,
  TASK_COLUMNS,
  type DeadRow,
  type TaskRow,
} from "./alarm-queue/schema";
import { backoffDelay, checkTimeZone, nextCronTime, type Backoff } from "./alarm-queue/timing";

export { AlarmQueueError, PayloadTooLargeError } from "./alarm-queue/errors";
export { backoffCeiling, backoffDelay, nextCronTime, type Backoff } from "./alarm-queue/timing";

/** What a handler is told about the task it runs (everything but the payload, which is its first argument). */
export interface TaskInfo<Name extends string = string> {
  readonly id: number;
  readonly name: Name;
  /** The idempotency key it was scheduled with, or `null`. */
  readonly key: string | null;
  /** When it was due (the queue clock's epoch ms). */
  readonly due: number;
  /** The cron pattern of a recurring task, or `null` for a one-shot task. */
  readonly cron: string | null;
  /** The IANA time zone of `cron`, or `null` for UTC. */
  readonly timezone: string | null;
  /** Failed attempts so far: 0 on the first run. */
  readonly attempts: number;
  /** Attempts allowed before the task moves to the dead letters. */
  readonly maxAttempts: number;
  /** The message of the last failure, or `null`. */
  readonly lastError: string | null;
  readonly createdAt: number;
}

/** A pending task as {@link AlarmQueue.list} returns it. */
export interface Task<Name extends string = string, Payload = unknown> extends TaskInfo<Name> {
  readonly payload: Payload;
}

/** A task that failed `maxAttempts` times, as {@link AlarmQueue.listDeadLetters} returns it. */
export interface DeadLetter {
  /** The dead letter's own id (pass it to `retryDeadLetter` / `purgeDeadLetters`). */
  readonly id: number;
  /** The id the task had while it was pending. */
  readonly taskId: number;
  readonly name: string;
  readonly key: string | null;
  readonly payload: unknown;
  readonly cron: string | null;
  readonly timezone: string | null;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly failedAt: number;
}

/**
 * A handler. Return nothing (synchronous: exactly-once SQL effects) or a Promise (asynchronous:
 * at-least-once; the task is removed only after the promise resolves). Throwing or rejecting
 * schedules a retry.
 */
export type TaskHandler<Payload> = (payload: Payload, task: TaskInfo) => void | Promise<unknown>;

// `never` in parameter position accepts a handler of any payload type (parameters are contravariant).
type HandlerMap = Record<string, (payload: never, task: TaskInfo) => unknown>;

/** The names a queue accepts: the keys of its handlers. */
export type TaskName<H extends HandlerMap> = keyof H & string;

/** The payload type of handler `N`, inferred from its first parameter. */
export type PayloadOf<H extends HandlerMap, N extends TaskName<H>> = H[N] extends (
  payload: infer P,
  task: TaskInfo,
) => unknown
  ? P
  : never;

/** When a task runs: exactly one of `at`, `delay` or `cron`. */
export type When =
  | { at: Date | number; delay?: never; cron?: never; timezone?: never }
  | { delay: number; at?: never; cron?: never; timezone?: never }
  | {
      /** 5 fields (minute precision) or 6 (seconds first), parsed by croner. */
      cron: string;
      /** IANA name, e.g. "Europe/Berlin"; UTC when absent. */
      timezone?: string;
      at?: never;
      delay?: never;
    };

/** Where and how to schedule: a {@link When} plus an optional key and retry limit. */
export type ScheduleOptions = When & {
  /** Idempotency key: scheduling the same key again replaces that task (payload, time, attempts). */
  key?: string;
  /** Attempts before dead-lettering, overriding the queue's `maxAttempts` for this task. */
  maxAttempts?: number;
};

/** One item of {@link AlarmQueue.scheduleMany}. */
export type ScheduleRequest<H extends HandlerMap> = {
  [N in TaskName<H>]: { name: N; payload: PayloadOf<H, N> } & ScheduleOptions;
}[TaskName<H>];

export interface AlarmQueueOptions<H extends HandlerMap> {
  /** One handler per task name; payload types are inferred from them. */
  handlers: H;
  /** Most tasks one `run()` handles before re-arming for the rest. Default 100. */
  batchSize?: number;
  /** A `run()` starts no new task once this much queue-clock time has passed. Default 10,000 ms. */
  timeBudgetMs?: number;
  /** Attempts per task (the first run included) before it moves to the dead letters. Default 5. */
  maxAttempts?: number;
  /** Retry delays; see {@link Backoff}. */
  backoff?: Partial<Backoff>;
  /** Largest payload, as UTF-8 bytes of its JSON. Default 64 KiB; at most 1 MiB (a row value may be 2 MB). */
  maxPayloadBytes?: number;
  /**
   * The queue clock, epoch ms. Default `Date.now`. Tests inject a controlled clock; the platform
   * alarm is then set at the real instant when `due - now()` will have elapsed.
   */
  now?: () => number;
  /** Uniform random in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
  /**
   * The metered SQL helper the queue runs its statements through. Pass the app's own `Sql` to
   * have `RunReport` rows include what handlers wrote through it.
   */
  sql?: Sql;
  /** Called with each handler failure (after it is persisted). Default: `console.error`. */
  onError?: (error: unknown, task: TaskInfo) => void;
}

/** What one `run()` did. */
export interface RunReport {
  /** Tasks whose handler was called. */
  ran: number;
  /** Tasks that completed (one-shot removed, cron moved to its next occurrence). */
  succeeded: number;
  /** Tasks that failed and were rescheduled with backoff. */
  failed: number;
  /** Tasks that failed their last attempt and moved to the dead letters. */
  deadLettered: number;
  /** Rows read by the queue's statements (and handlers' statements through `options.sql`). */
  rowsRead: number;
  /** Rows written, likewise. */
  rowsWritten: number;
  /** Due time the alarm is armed for after this run (queue clock), or `null` when nothing is pending. */
  nextAlarm: number | null;
}

/** The queue's persisted bookkeeping. */
export interface AlarmQueueStats {
  /** `setAlarm` + `deleteAlarm` calls since the queue's tables were created (each is a billed write). */
  alarmWrites: number;
  /** The due time the alarm is armed for (queue clock), or `null`. */
  armedAt: number | null;
}

/** A page of {@link AlarmQueue.list} or {@link AlarmQueue.listDeadLetters}. */
export interface Page<T> {
  items: T[];
  /** Pass as `after` for the next page; `null` on the last page. */
  next: string | null;
}

const DEFAULTS = {
  batchSize: 100,
  timeBudgetMs: 10_000,
  maxAttempts: 5,
  backoff: { baseMs: 1_000, maxMs: 3_600_000 },
  maxPayloadBytes: 64 * 1024,
};
const MAX_PAYLOAD_LIMIT = 1024 * 1024;
const MAX_KEY_LENGTH = 512;
const MAX_ERROR_LENGTH = 1_000;
const encoder = new TextEncoder();

/**
 * A persistent, typed task queue on the object's single alarm.
 *
 * @example
 * ```ts
 * const queue = new AlarmQueue(ctx, {
 *   handlers: {
 *     expire: (payload: { session: string }) => sql.exec("DELETE FROM sessions WHERE id = ?", payload.session),
 *     notify: async (payload: { url: string }) => { await fetch(payload.url, { method: "POST" }); },
 *   },
 * });
 * queue.schedule("expire", { session: "s1" }, { delay: 30 * 60_000, key: "expire:s1" });
 * queue.schedule("notify", { url }, { at: new Date("2026-12-24T18:00:00Z") });
 * queue.cancel({ key: "expire:s1" });
 * // in the object: async alarm() { await queue.run(); }
 * ```
 */
export class AlarmQueue<H extends HandlerMap> {
  /** The metered SQL helper the queue's statements go through. */
  readonly sql: Sql;
  private readonly storage: DurableObjectStorage;
  private readonly handlers: H;
  private readonly batchSize: number;
  private readonly timeBudgetMs: number;
  private readonly maxAttempts: number;
  private readonly backoff: Backoff;
  private readonly maxPayloadBytes: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly onError: (error: unknown, task: TaskInfo) => void;
  // True while run() works through a batch: schedule/cancel then leave arming to the end of the run.
  private running = false;
  // The running batch's cutoff: tasks scheduled during the run are due after it (see prepare()).
  private runCutoff: number | null = null;

  constructor(ctx: DurableObjectState, options: AlarmQueueOptions<H>) {
    this.storage = ctx.storage;
    this.handlers = options.handlers;
    this.batchSize = positiveInteger("batchSize", options.batchSize ?? DEFAULTS.batchSize);
    this.timeBudgetMs = positiveInteger("timeBudgetMs", options.timeBudgetMs ?? DEFAULTS.timeBudgetMs);
    this.maxAttempts = positiveInteger("maxAttempts", options.maxAttempts ?? DEFAULTS.maxAttempts);
    this.backoff = {
      baseMs: positiveInteger("backoff.baseMs", options.backoff?.baseMs ?? DEFAULTS.backoff.baseMs),
      maxMs: positiveInteger("backoff.maxMs", options.backoff?.maxMs ?? DEFAULTS.backoff.maxMs),
    };
    this.maxPayloadBytes = positiveInteger("maxPayloadBytes", options.maxPayloadBytes ?? DEFAULTS.maxPayloadBytes);
    if (this.maxPayloadBytes > MAX_PAYLOAD_LIMIT) {
      throw new AlarmQueueError(
        `maxPayloadBytes is at most ${MAX_PAYLOAD_LIMIT} (a SQLite row value is at most 2 MB).`,
      );
    }
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.onError =
      options.onError ??
      ((error, task) =>
        console.error(`alarm-queue: task ${task.id} "${task.name}" failed (attempt ${task.attempts + 1})`, error));
    this.sql = options.sql ?? new Sql(ctx.storage);
    // The queue's own history table: an app's migrations and the queue's never share a list.
    migrate(ctx.storage, QUEUE_MIGRATIONS, { table: QUEUE_MIGRATIONS_TABLE });
  }

  /**
   * Schedules `name` with `payload` at a time, after a delay or on a cron pattern. With a `key`,
   * replaces the pending task of that key (its attempts start over). Re-arms the alarm only if the
   * earliest due time changed.
   *
   * @throws {PayloadTooLargeError} when the payload's JSON is over `maxPayloadBytes`.
   * @throws {AlarmQueueError} for an unknown name, a bad time, cron pattern or time zone.
   *
   * @example
   * ```ts
   * queue.schedule("reset", { to: 0 }, { cron: "30 2 * * *", timezone: "America/New_York", key: "reset" });
   * queue.schedule("reset", { to: 0 }, { delay: 60_000 });
   * ```
   */
  schedule<N extends TaskName<H>>(
    name: N,
    payload: PayloadOf<H, N>,
    options: ScheduleOptions,
  ): Task<N, PayloadOf<H, N>> {
    const [task] = this.scheduleMany([{ name, payload, ...options } as ScheduleRequest<H>]);
    return task as Task<N, PayloadOf<H, N>>;
  }

  /**
   * Schedules many tasks in one transaction and arms the alarm once: all are written or none.
   *
   * @example
   * ```ts
   * queue.scheduleMany(users.map((id) => ({ name: "remind", payload: { id }, delay: 86_400_000, key: `remind:${id}` })));
   * ```
   */
  scheduleMany(requests: readonly ScheduleRequest<H>[]): Task[] {
    const now = this.now();
    // Validate everything first so a bad item throws before anything is written.
    const rows = requests.map((request) => this.prepare(request, now));
    const tasks = this.sql.transaction(() =>
      rows.map((row) => {
        const stored = this.sql.one<{ id: number; revision: number }>(
          `INSERT INTO _alarm_queue_tasks (name, key, payload, due, cron, timezone, attempts, max_attempts, last_error, revision, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 0, ?, NULL, 0, ?)
           ON CONFLICT (key) DO UPDATE SET
             name = excluded.name, payload = excluded.payload, due = excluded.due, cron = excluded.cron,
             timezone = excluded.timezone, attempts = 0, max_attempts = excluded.max_attempts, last_error = NULL,
             revision = revision + 1, created_at = excluded.created_at
           RETURNING id, revision`,
          row.name,
          row.key,
          row.payload,
          row.due,
          row.cron,
          row.timezone,
          row.max_attempts,
          now,
        )!;
        return toTask({ ...row, ...stored, attempts: 0, last_error: null, created_at: now });
      }),
    );
    this.arm();
    return tasks;
  }

  /**
   * Cancels a pending task by id or key. Returns whether one was removed. Moves or deletes the alarm
   * only if the cancelled task was the earliest.
   */
  cancel(target: { id: number } | { key: string }): boolean {
    const removed =
      "id" in target
        ? this.sql.query("DELETE FROM _alarm_queue_tasks WHERE id = ? RETURNING id", target.id).rows.length
        : this.sql.query("DELETE FROM _alarm_queue_tasks WHERE key = ? RETURNING id", target.key).rows.length;
    if (removed > 0) this.arm();
    return removed > 0;
  }

  /** The pending task with this id or key, or `null`. */
  get(target: { id: number } | { key: string }): Task | null {
    const row =
      "id" in target
        ? this.sql.one<TaskRow>(`SELECT ${TASK_COLUMNS} FROM _alarm_queue_tasks WHERE id = ?`, target.id)
        : this.sql.one<TaskRow>(`SELECT ${TASK_COLUMNS} FROM _alarm_queue_tasks WHERE key = ?`, target.key);
    return row ? toTask(row) : null;
  }

  /**
   * Pending tasks in due-time order (ties by id), `limit` at a time (default 100, at most 1,000).
   * Each page reads only its own rows through the due-time index.
   *
   * @example
   * ```ts
   * let page = queue.list({ limit: 50 });
   * while (page.next) page = queue.list({ limit: 50, after: page.next });
   * ```
   */
  list(options: { limit?: number; after?: string | null } = {}): Page<Task> {
    const limit = pageLimit(options.limit);
    const [due, id] = options.after ? parseCursor(options.after) : [Number.MIN_SAFE_INTEGER, 0];
    const rows = this.sql.all<TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM _alarm_queue_tasks WHERE (due, id) > (?, ?) ORDER BY due, id LIMIT ?`,
      due,
      id,
      limit + 1,
    );
    const items = rows.slice(0, limit).map(toTask);
    const last = items.at(-1);
    return { items, next: rows.length > limit && last ? `${last.due}:${last.id}` : null };
  }

  /** Dead letters, oldest first, `limit` at a time (default 100, at most 1,000). */
  listDeadLetters(options: { limit?: number; after?: string | null } = {}): Page<DeadLetter> {
    const limit = pageLimit(options.limit);
    const after = options.after ? Number(options.after) : 0;
    const rows = this.sql.all<DeadRow>(
      "SELECT * FROM _alarm_queue_dead WHERE id > ? ORDER BY id LIMIT ?",
      Number.isFinite(after) ? after : 0,
      limit + 1,
    );
    const items = rows.slice(0, limit).map(toDeadLetter);
    const last = items.at(-1);
    return { items, next: rows.length > limit && last ? String(last.id) : null };
  }

  /**
   * Moves a dead letter back into the queue, due now, with its attempts reset. A dead cron
   * occurrence comes back as a one-shot task (its schedule never stopped). A key already taken by a
   * pending task is replaced, as with `schedule`. Returns the new task, or `null` if no such letter.
   */
  retryDeadLetter(id: number): Task | null {
    const task = this.sql.transaction(() => {
      const letter = this.sql.one<DeadRow>("DELETE FROM _alarm_queue_dead WHERE id = ? RETURNING *", id);
      if (!letter) return null;
      const oneShot = letter.cron === null;
      const request = {
        name: letter.name,
        payload: JSON.parse(letter.payload) as unknown,
        at: this.now(),
        key: oneShot ? (letter.key ?? undefined) : undefined,
        maxAttempts: letter.max_attempts,
      } as ScheduleRequest<H>;
      return this.scheduleMany([request])[0]!;
    });
    return task;
  }

  /** Deletes the given dead letters, or all of them. Returns how many were deleted. */
  purgeDeadLetters(ids?: readonly number[]): number {
    if (ids === undefined) return this.sql.query("DELETE FROM _alarm_queue_dead RETURNING id").rows.length;
    return this.sql.transaction(() =>
      ids.reduce(
        (sum, id) => sum + this.sql.query("DELETE FROM _alarm_queue_dead WHERE id = ? RETURNING id", id).rows.length,
        0,
      ),
    );
  }

  /** The persisted bookkeeping: alarm writes so far and the armed due time (one row read). */
  stats(): AlarmQueueStats {
    const state = this.sql.one<{ armed_at: number | null; alarm_writes: number }>(
      "SELECT armed_at, alarm_writes FROM _alarm_queue_state WHERE id = 1",
    )!;
    return { alarmWrites: state.alarm_writes, armedAt: state.armed_at };
  }

  /**
   * Runs due tasks in due-time order, at most `batchSize` of them and none started after
   * `timeBudgetMs`, then re-arms the alarm for what is left. Call it from the object's `alarm()`.
   *
   * Handler errors are caught and persisted (retry or dead letter), so the platform never retries
   * the alarm for them. Only the queue's own storage errors reject; the platform then retries the
   * alarm, and every task not yet completed is still in the table.
   *
   * @example
   * ```ts
   * async alarm() {
   *   const report = await this.queue.run();
   *   if (report.deadLettered > 0) console.warn("tasks dead-lettered", report);
   * }
   * ```
   */
  async run(): Promise<RunReport> {
    const report: RunReport = {
      ran: 0,
      succeeded: 0,
      failed: 0,
      deadLettered: 0,
      rowsRead: 0,
      rowsWritten: 0,
      nextAlarm: null,
    };
    // Only one run at a time: a second call while one awaits an async handler just reports nothing.
    if (this.running) return { ...report, nextAlarm: this.stats().armedAt };
    const before = { ...this.sql.meter };
    this.running = true;
    try {
      // The platform consumed the alarm that invoked this run; forget it so arm() sets the next.
      this.sql.run("UPDATE _alarm_queue_state SET armed_at = NULL WHERE id = 1 AND armed_at IS NOT NULL");
      // A fixed cutoff: a task retried or rescheduled during this run is never picked again by it
      // (retries and cron occurrences are due after now; prepare() moves anything else past it).
      const cutoff = this.now();
      this.runCutoff = cutoff;
      while (report.ran < this.batchSize && this.now() - cutoff < this.timeBudgetMs) {
        const row = this.sql.one<TaskRow>(
          `SELECT ${TASK_COLUMNS} FROM _alarm_queue_tasks WHERE due <= ? ORDER BY due, id LIMIT 1`,
          cutoff,
        );
        if (!row) break;
        report.ran += 1;
        await this.execute(row, report);
      }
    } finally {
      this.running = false;
      this.runCutoff = null;
    }
    report.nextAlarm = this.arm();
    report.rowsRead = this.sql.meter.rowsRead - before.rowsRead;
    report.rowsWritten = this.sql.meter.rowsWritten - before.rowsWritten;
    return report;
  }

  private async execute(row: TaskRow, report: RunReport): Promise<void> {
    const info = toInfo(row);
    const outcome: { pending?: PromiseLike<unknown>; completed?: boolean } = {};
    try {
      const handler = this.handlers[row.name] as ((payload: unknown, task: TaskInfo) => unknown) | undefined;
      if (!handler) throw new AlarmQueueError(`No handler for task "${row.name}".`);
      const payload = JSON.parse(row.payload) as unknown;
      this.sql.transaction(() => {
        const result = handler(payload, info);
        if (isThenable(result)) {
          outcome.pending = result;
          return;
        }
        // Same transaction as the handler's writes: both commit, or both roll back.
        this.complete(row);
        outcome.completed = true;
      });
    } catch (error) {
      // complete() itself failing is a storage fault, not a handler failure: let the platform retry.
      if (outcome.completed) throw error;
      this.fail(row, info, error, report);
      return;
    }
    if (outcome.pending) {
      try {
        await outcome.pending;
      } catch (error) {
        this.fail(row, info, error, report);
        return;
      }
      this.complete(row);
    }
    report.succeeded += 1;
  }

  /** A one-shot task is removed; a cron task moves to its next occurrence after now (missed ones are skipped). */
  private complete(row: TaskRow): void {
    const next = row.cron === null ? null : nextCronTime(row.cron, row.timezone, this.now());
    if (next === null) {
      // `revision` guards an async handler's task that was replaced by key while it ran.
      this.sql.run("DELETE FROM _alarm_queue_tasks WHERE id = ? AND revision = ?", row.id, row.revision);
    } else {
      this.sql.run(
        "UPDATE _alarm_queue_tasks SET due = ?, attempts = 0, last_error = NULL WHERE id = ? AND revision = ?",
        next,
        row.id,
        row.revision,
      );
    }
  }

  private fail(row: TaskRow, info: TaskInfo, error: unknown, report: RunReport): void {
    const failures = row.attempts + 1;
    const message = errorMessage(error);
    const now = this.now();
    if (failures >= row.max_attempts) {
      this.sql.transaction(() => {
        this.sql.run(
          `INSERT INTO _alarm_queue_dead (task_id, name, key, payload, cron, timezone, attempts, max_attempts, last_error, created_at, failed_at)
           SELECT id, name, key, payload, cron, timezone, ?, max_attempts, ?, created_at, ? FROM _alarm_queue_tasks
           WHERE id = ? AND revision = ?`,
          failures,
          message,
          now,
          row.id,
          row.revision,
        );
        // A cron task's schedule goes on: only this occurrence is dead.
        this.complete(row);
      });
      report.deadLettered += 1;
    } else {
      this.sql.run(
        "UPDATE _alarm_queue_tasks SET attempts = ?, due = ?, last_error = ? WHERE id = ? AND revision = ?",
        failures,
        now + backoffDelay(failures, this.backoff, this.random),
        message,
        row.id,
        row.revision,
      );
      report.failed += 1;
    }
    this.onError(error, info);
  }

  /**
   * Points the alarm at the earliest due time. Reads two rows (the minimum through the index and the
   * state row) and writes only when the armed time must change. An armed time already in the past
   * is treated as spent (its alarm fired, or is firing), so a stuck alarm always gets re-set.
   * Returns the armed due time.
   */
  private arm(): number | null {
    if (this.running) return null;
    const next = this.sql.one<{ due: number }>("SELECT due FROM _alarm_queue_tasks ORDER BY due LIMIT 1")?.due ?? null;
    const { armedAt } = this.stats();
    const now = this.now();
    if (next === null) {
      if (armedAt === null) return null;
      void this.storage.deleteAlarm();
    } else {
      if (armedAt === next && armedAt > now) return next;
      // Output gates hold the object's replies until this write is durable, so it is not awaited
      // (which keeps schedule() synchronous and usable inside transactionSync).
      void this.storage.setAlarm(next + (Date.now() - now));
    }
    this.sql.run("UPDATE _alarm_queue_state SET armed_at = ?, alarm_writes = alarm_writes + 1 WHERE id = 1", next);
    return next;
  }

  private prepare(request: ScheduleRequest<H>, now: number) {
    const { name, payload, key, maxAttempts } = request;
    if (typeof name !== "string" || !Object.hasOwn(this.handlers, name)) {
      throw new AlarmQueueError(
        `No handler for task "${String(name)}". Known: ${Object.keys(this.handlers).join(", ")}.`,
      );
    }
    if (key !== undefined && (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH)) {
      throw new AlarmQueueError(`A task key is a string of 1 to ${MAX_KEY_LENGTH} characters.`);
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(payload);
    } catch (error) {
      throw new AlarmQueueError(`The payload of task "${name}" is not JSON-serializable: ${errorMessage(error)}`);
    }
    json ??= "null";
    const size = encoder.encode(json).byteLength;
    if (size > this.maxPayloadBytes) throw new PayloadTooLargeError(size, this.maxPayloadBytes, name);

    let due: number;
    let cron: string | null = null;
    let timezone: string | null = null;
    if (request.cron !== undefined) {
      cron = request.cron;
      timezone = request.timezone ?? null;
      if (timezone !== null) checkTimeZone(timezone);
      const next = nextCronTime(cron, timezone, now);
      if (next === null) throw new AlarmQueueError(`The cron pattern "${cron}" has no future occurrence.`);
      due = next;
    } else if (request.delay !== undefined) {
      if (!Number.isFinite(request.delay) || request.delay < 0) {
        throw new AlarmQueueError(`delay must be a finite number of milliseconds >= 0, got ${request.delay}.`);
      }
      due = now + Math.ceil(request.delay);
    } else if (request.at !== undefined) {
      due = request.at instanceof Date ? request.at.getTime() : request.at;
      if (!Number.isFinite(due)) throw new AlarmQueueError(`at must be a valid Date or epoch milliseconds.`);
      due = Math.ceil(due);
    } else {
      throw new AlarmQueueError(`Schedule task "${name}" with one of at, delay or cron.`);
    }
    // A handler that schedules work for "now" during a run (itself again, by key, say) gets it in
    // the next run, 1 ms later: otherwise a frozen clock (workerd's does not move without I/O)
    // would let one run pick the same task again and again, up to the batch size.
    if (this.runCutoff !== null && due <= this.runCutoff) due = this.runCutoff + 1;
    return {
      name,
      key: key ?? null,
      payload: json,
      due,
      cron,
      timezone,
      max_attempts: positiveInteger("maxAttempts", maxAttempts ?? this.maxAttempts),
    };
  }
}

function toInfo(row: TaskRow): TaskInfo {
  return {
    id: row.id,
    name: row.name,
    key: row.key,
    due: row.due,
    cron: row.cron,
    timezone: row.timezone,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
  };
}

function toTask(row: TaskRow): Task {
  return { ...toInfo(row), payload: JSON.parse(row.payload) as unknown };
}

function toDeadLetter(row: DeadRow): DeadLetter {
  return {
    id: row.id,
    taskId: row.task_id,
    name: row.name,
    key: row.key,
    payload: JSON.parse(row.payload) as unknown,
    cron: row.cron,
    timezone: row.timezone,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
    failedAt: row.failed_at,
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

function errorMessage(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new AlarmQueueError(`${name} must be a positive integer, got ${value}.`);
  return value;
}

function pageLimit(limit = 100): number {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1_000)
    throw new AlarmQueueError("limit is an integer from 1 to 1,000.");
  return limit;
}

function parseCursor(cursor: string): [number, number] {
  const [due, id] = cursor.split(":").map(Number);
  if (!Number.isSafeInteger(due) || !Number.isSafeInteger(id))
    throw new AlarmQueueError(`"${cursor}" is not a list cursor.`);
  return [due!, id!];
}
