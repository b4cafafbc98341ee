// Vendored from durable-patterns packages/shared/src/alarm-queue.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
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
import { withDeadline } from "./deadline";
import { migrate } from "./migrations";
import { Sql } from "./sql";
import { AlarmQueueError, PayloadTooLargeError, TaskTimeoutError } from "./alarm-queue/errors";
import {
  QUEUE_MIGRATIONS,
  QUEUE_MIGRATIONS_TABLE,
  STATE_COLUMNS,
  TASK_COLUMNS,
  type DeadRow,
  type StateRow,
  type TaskRow,
} from "./alarm-queue/schema";
import { backoffDelay, checkTimeZone, nextCronTime, type Backoff } from "./alarm-queue/timing";

export { AlarmQueueError, PayloadTooLargeError, TaskTimeoutError } from "./alarm-queue/errors";
export { backoffDelay, nextCronTime, type Backoff } from "./alarm-queue/timing";

/** What a handler is told about the task it runs (everything but the payload, which is its first argument). */
export interface TaskInfo<Name extends string = string> {
  /** Unique for the life of the object's storage: never given to another task, even after this one is gone. */
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

/** What a handler gets as its second argument: the task, and a signal aborted when its time is up. */
export interface RunningTask<Name extends string = string> extends TaskInfo<Name> {
  /**
   * Aborted with a {@link TaskTimeoutError} when an asynchronous handler has not settled within its
   * timeout (the attempt then counts as failed and the run goes on). Pass it to `fetch`.
   */
  readonly signal: AbortSignal;
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
export type TaskHandler<Payload> = (payload: Payload, task: RunningTask) => void | Promise<unknown>;

// `never` in parameter position accepts a handler of any payload type (parameters are contravariant).
export type HandlerMap = Record<string, (payload: never, task: RunningTask) => unknown>;

/** The names a queue accepts: the keys of its handlers. */
export type TaskName<H extends HandlerMap> = keyof H & string;

/** The payload type of handler `N`, inferred from its first parameter. */
export type PayloadOf<H extends HandlerMap, N extends TaskName<H>> = H[N] extends (
  payload: infer P,
  task: RunningTask,
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
  /**
   * Most tasks one `run()` handles before re-arming for the rest. Default 1,000: 10,000 due tasks
   * drain in 10 alarm invocations. Lower it for handlers that burn much CPU each (an invocation has
   * a CPU limit, 30 s by default).
   */
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
  /**
   * Longest an asynchronous handler may take before its attempt fails with a {@link TaskTimeoutError}
   * and its `task.signal` is aborted. Default 60,000 ms. With `timeBudgetMs` it must stay under the
   * 15 minutes one alarm invocation may run.
   */
  handlerTimeoutMs?: number;
  /** Per task name, overrides `handlerTimeoutMs` (e.g. `{ export: 600_000 }`). */
  handlerTimeouts?: Partial<Record<TaskName<H>, number>>;
  /**
   * Called with each handler failure (after it is persisted). Default: one JSON line on
   * `console.error` with the task's id, name, key, attempt and error (never its payload).
   */
  onError?: (error: unknown, task: TaskInfo) => void;
  /**
   * Called once a task has moved to the dead letters, for alerting. Default: one JSON line on
   * `console.error` with the task's id, name, key, attempts and last error (never its payload,
   * which may hold personal data). A hook that throws is logged and ignored.
   */
  onDeadLetter?: (letter: DeadLetter) => void;
}

/** What the platform passes to `alarm()`: pass it on to {@link AlarmQueue.run}. */
export interface AlarmRetryInfo {
  /** 0 for an alarm's first invocation; n when the platform retries it after n failed ones. */
  readonly retryCount: number;
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
  batchSize: 1_000,
  timeBudgetMs: 10_000,
  maxAttempts: 5,
  backoff: { baseMs: 1_000, maxMs: 3_600_000 },
  maxPayloadBytes: 64 * 1024,
  handlerTimeoutMs: 60_000,
};
const MAX_PAYLOAD_LIMIT = 1024 * 1024;
const MAX_KEY_LENGTH = 512;
const MAX_ERROR_LENGTH = 1_000;
/** One alarm invocation may run for 15 minutes of wall time; a run (budget + one handler) stays under it. */
const ALARM_INVOCATION_LIMIT_MS = 15 * 60_000;
/**
 * The latest alarm time the Workers runtime accepts. `setAlarm` rejects later times asynchronously
 * ("This API doesn't support dates after 2189"), so the queue refuses them when they are scheduled.
 */
export const MAX_ALARM_TIME = Date.UTC(2190, 0, 1) - 1;
/**
 * An armed time that has passed is trusted as pending (its alarm is about to fire, or firing) for
 * this long after it was written; after that it is written again, in case the platform gave up
 * retrying it. So a due time that stays the earliest costs one alarm write, not one per call.
 */
const ARMED_GRACE_MS = 60_000;
/** How many due rows one statement of a run reads at most: bounded by bytes so payloads fit in memory. */
const BATCH_READ_BYTES = 8 * 1024 * 1024;
const encoder = new TextEncoder();
const QUEUE_STATE_TABLE = "_alarm_queue_state";

/**
 * Counts changes to the pending tasks made through any queue on a storage, so a run knows when the
 * due rows it read may be stale (a handler or a request scheduled, replaced or cancelled a task, or
 * a run of another queue instance completed or failed one).
 */
const taskChanges = new WeakMap<object, { count: number }>();
function changesOf(storage: object): { count: number } {
  let changes = taskChanges.get(storage);
  if (!changes) taskChanges.set(storage, (changes = { count: 0 }));
  return changes;
}

/**
 * A persistent, typed task queue on the object's single alarm.
 *
 * @example
 * ```ts
 * const queue = new AlarmQueue(ctx, {
 *   handlers: {
 *     expire: (payload: { session: string }) => sql.exec("DELETE FROM sessions WHERE id = ?", payload.session),
 *     notify: async (payload: { url: string }, task) => {
 *       await fetch(payload.url, { method: "POST", signal: task.signal, headers: { "Idempotency-Key": `${task.id}` } });
 *     },
 *   },
 * });
 * queue.schedule("expire", { session: "s1" }, { delay: 30 * 60_000, key: "expire:s1" });
 * queue.schedule("notify", { url }, { at: new Date("2026-12-24T18:00:00Z") });
 * queue.cancel({ key: "expire:s1" });
 * // in the object: async alarm(info?: AlarmInvocationInfo) { await queue.run(info); }
 * ```
 */
export class AlarmQueue<H extends HandlerMap> {
  /** The metered SQL helper the queue's statements go through. */
  readonly sql: Sql;
  private readonly storage: DurableObjectStorage;
  private readonly handlers: H;
  private readonly batchSize: number;
  private readonly readSize: number;
  private readonly timeBudgetMs: number;
  private readonly maxAttempts: number;
  private readonly backoff: Backoff;
  private readonly maxPayloadBytes: number;
  private readonly timeoutMs: number;
  private readonly timeouts: Partial<Record<string, number>>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly onError: (error: unknown, task: TaskInfo) => void;
  private readonly onDeadLetter: (letter: DeadLetter) => void;
  private readonly changes: { count: number };
  // The run in progress: a second run() call joins it. Every run ends (handlers have a timeout).
  private current: Promise<RunReport> | null = null;
  // The running batch's cutoff: arming waits for the end of the run, and tasks scheduled during
  // the run are due after it (see prepare()).
  private runCutoff: number | null = null;

  /**
   * Whether the queue's tables exist in this storage (reads no row): an object that creates its
   * queue lazily, and deletes everything when it purges, asks before constructing one, since
   * constructing creates the tables.
   */
  static exists(sql: Sql): boolean {
    return sql.hasTable(QUEUE_STATE_TABLE);
  }

  constructor(ctx: Pick<DurableObjectState, "storage">, options: AlarmQueueOptions<H>) {
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
    this.readSize = Math.max(1, Math.min(this.batchSize, Math.floor(BATCH_READ_BYTES / this.maxPayloadBytes)));
    this.timeoutMs = positiveInteger("handlerTimeoutMs", options.handlerTimeoutMs ?? DEFAULTS.handlerTimeoutMs);
    this.timeouts = {};
    for (const [name, ms] of Object.entries(options.handlerTimeouts ?? {}) as [string, number][]) {
      if (!Object.hasOwn(this.handlers, name)) throw new AlarmQueueError(`handlerTimeouts names no handler "${name}".`);
      this.timeouts[name] = positiveInteger(`handlerTimeouts.${name}`, ms);
    }
    const longest = Math.max(this.timeoutMs, ...Object.values(this.timeouts).map(Number));
    if (this.timeBudgetMs + longest >= ALARM_INVOCATION_LIMIT_MS) {
      throw new AlarmQueueError(
        `timeBudgetMs (${this.timeBudgetMs}) plus the longest handler timeout (${longest}) must stay under ` +
          `${ALARM_INVOCATION_LIMIT_MS} ms, the 15 minutes one alarm invocation may run.`,
      );
    }
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.onError =
      options.onError ??
      ((error, task) =>
        console.error(
          JSON.stringify({
            level: "error",
            message: "alarm-queue: task failed",
            task: task.id,
            name: task.name,
            key: task.key,
            attempt: task.attempts + 1,
            maxAttempts: task.maxAttempts,
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          }),
        ));
    this.onDeadLetter = options.onDeadLetter ?? logDeadLetter;
    this.sql = options.sql ?? new Sql(ctx.storage);
    this.changes = changesOf(ctx.storage);
    // The queue's own history table: an app's migrations and the queue's never share a list.
    migrate(ctx.storage, QUEUE_MIGRATIONS, { table: QUEUE_MIGRATIONS_TABLE });
  }

  /**
   * Schedules `name` with `payload` at a time, after a delay or on a cron pattern. With a `key`,
   * replaces the pending task of that key (its attempts start over). Re-arms the alarm only if the
   * earliest due time changed.
   *
   * @throws {PayloadTooLargeError} when the payload's JSON is over `maxPayloadBytes`.
   * @throws {AlarmQueueError} for an unknown name, a bad time, cron pattern or time zone, or a time
   * later than the runtime accepts for an alarm ({@link MAX_ALARM_TIME}).
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
   * Schedules many tasks in one transaction and arms the alarm once: all are written or none
   * (a storage error, `setAlarm` included, leaves nothing behind).
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
    const tasks = this.sql.transaction(() => {
      const state = this.state();
      let nextId = state.next_id;
      const scheduled = rows.map((row) => {
        // A new task takes next_id; a replaced one (same key) keeps its id and bumps its revision.
        const stored = this.sql.one<{ id: number; revision: number }>(
          `INSERT INTO _alarm_queue_tasks (id, name, key, payload, due, cron, timezone, attempts, max_attempts, last_error, revision, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, NULL, 0, ?)
           ON CONFLICT (key) DO UPDATE SET
             name = excluded.name, payload = excluded.payload, due = excluded.due, cron = excluded.cron,
             timezone = excluded.timezone, attempts = 0, max_attempts = excluded.max_attempts, last_error = NULL,
             revision = revision + 1, created_at = excluded.created_at
           RETURNING id, revision`,
          nextId,
          row.name,
          row.key,
          row.payload,
          row.due,
          row.cron,
          row.timezone,
          row.max_attempts,
          now,
        )!;
        if (stored.id === nextId) nextId += 1;
        return toTask({ ...row, ...stored, attempts: 0, last_error: null, created_at: now });
      });
      // Inside the transaction: a setAlarm that throws takes the new rows with it.
      this.arm(state, nextId);
      return scheduled;
    });
    this.changes.count += 1;
    return tasks;
  }

  /**
   * Cancels a pending task by id or key. Returns whether one was removed. Moves or deletes the alarm
   * only if the cancelled task was the earliest. A handler already running for it is not stopped,
   * but its outcome no longer changes anything.
   */
  cancel(target: { id: number } | { key: string }): boolean {
    const removed = this.sql.transaction(() => {
      const count =
        "id" in target
          ? this.sql.query("DELETE FROM _alarm_queue_tasks WHERE id = ? RETURNING id", target.id).rows.length
          : this.sql.query("DELETE FROM _alarm_queue_tasks WHERE key = ? RETURNING id", target.key).rows.length;
      if (count > 0) this.arm(this.state());
      return count > 0;
    });
    if (removed) this.changes.count += 1;
    return removed;
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
    return this.sql.transaction(() => {
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
    const state = this.state();
    return { alarmWrites: state.alarm_writes, armedAt: state.armed_at };
  }

  /**
   * Runs due tasks in due-time order, at most `batchSize` of them and none started after
   * `timeBudgetMs`, then re-arms the alarm for what is left. Call it from the object's `alarm()`
   * with the platform's retry information, so that a task that crashes the object is counted:
   *
   * Handler errors and timeouts are caught and persisted (retry or dead letter), so the platform
   * never retries the alarm for them. Only the queue's own storage errors reject, and a crash
   * (out of memory, CPU limit, `ctx.abort()`) ends the invocation; the platform then retries the
   * alarm with `retryCount > 0`, and every task not yet completed is still in the table. A retried
   * run counts each task's attempt durably before calling its handler (one extra row written and a
   * commit per task, on retries only), so a task that crashes the object on every attempt reaches
   * the dead letters after `maxAttempts` and the tasks behind it run.
   *
   * A call while a run is in progress joins it and resolves with its report.
   *
   * @example
   * ```ts
   * async alarm(info?: AlarmInvocationInfo) {
   *   const report = await this.queue.run(info);
   *   if (report.deadLettered > 0) console.warn("tasks dead-lettered", report);
   * }
   * ```
   */
  run(info?: AlarmRetryInfo): Promise<RunReport> {
    if (this.current) return this.current;
    const current = this.runBatch((info?.retryCount ?? 0) > 0).finally(() => {
      this.current = null;
    });
    this.current = current;
    return current;
  }

  private async runBatch(guarded: boolean): Promise<RunReport> {
    const report: RunReport = {
      ran: 0,
      succeeded: 0,
      failed: 0,
      deadLettered: 0,
      rowsRead: 0,
      rowsWritten: 0,
      nextAlarm: null,
    };
    const before = { ...this.sql.meter };
    // A fixed cutoff: a task retried or rescheduled during this run is never picked again by it
    // (retries and cron occurrences are due after the cutoff; prepare() moves anything else past it).
    const cutoff = this.now();
    this.runCutoff = cutoff;
    try {
      // The platform consumed the alarm that invoked this run; forget it so arm() sets the next.
      this.sql.run("UPDATE _alarm_queue_state SET armed_at = NULL WHERE id = 1 AND armed_at IS NOT NULL");
      // Due rows are read a chunk at a time (one statement) and read again only when the tasks
      // may have changed under the run: a queue call, or any await in between.
      let due: TaskRow[] = [];
      let seen = this.changes.count;
      while (report.ran < this.batchSize && this.now() - cutoff < this.timeBudgetMs) {
        if (due.length === 0 || seen !== this.changes.count) {
          seen = this.changes.count;
          due = this.sql.all<TaskRow>(
            `SELECT ${TASK_COLUMNS} FROM _alarm_queue_tasks WHERE due <= ? ORDER BY due, id LIMIT ?`,
            cutoff,
            Math.min(this.readSize, this.batchSize - report.ran),
          );
          if (due.length === 0) break;
        }
        report.ran += 1;
        // A synchronous task is counted as a change, but it is this run's own and nothing ran
        // meanwhile: unless another change came (another queue instance's run), the chunk holds.
        if (await this.execute(due.shift()!, report, guarded, cutoff)) seen += 1;
      }
      this.runCutoff = null;
      report.nextAlarm = this.arm(this.state(), undefined, true);
    } catch (error) {
      this.runCutoff = null;
      // Another request deleted the object's storage while this run awaited (an app's purge with
      // deleteAll(), which also clears the alarm): no task is pending any more, so the run is over,
      // not failed. A retry would only fail again.
      if (!AlarmQueue.exists(this.sql)) return { ...report, nextAlarm: null };
      // Best effort: whatever is pending stays armed even when the run itself failed (its final
      // arming included: the alarm that invoked it may be spent).
      try {
        this.arm(this.state(), undefined, true);
      } catch {
        // The platform retries the alarm, and the next schedule() arms again.
      }
      throw error;
    }
    report.rowsRead = this.sql.meter.rowsRead - before.rowsRead;
    report.rowsWritten = this.sql.meter.rowsWritten - before.rowsWritten;
    return report;
  }

  /** Runs one task. Returns whether it counted one change of the tasks and awaited nothing. */
  private async execute(row: TaskRow, report: RunReport, guarded: boolean, cutoff: number): Promise<boolean> {
    // Only a crash leaves a pending task with every attempt used: its last one was counted before
    // its handler ran, and never finished.
    if (row.attempts >= row.max_attempts) {
      this.deadLetter(row, row.attempts, row.last_error ?? "The attempt never finished.", report, cutoff);
      return false;
    }
    if (guarded) {
      // The previous invocation failed, possibly in this task's handler: count the attempt first,
      // durably, so a crash in it counts too.
      this.sql.run(
        "UPDATE _alarm_queue_tasks SET attempts = attempts + 1, last_error = ? WHERE id = ? AND revision = ?",
        `Attempt ${row.attempts + 1} never finished: the object crashed or was reset while the task ran.`,
        row.id,
        row.revision,
      );
      await this.storage.sync();
      this.changes.count += 1;
      const current = this.sql.one<{ revision: number }>(
        "SELECT revision FROM _alarm_queue_tasks WHERE id = ? AND revision = ?",
        row.id,
        row.revision,
      );
      if (!current) return false; // cancelled or replaced while the attempt was being counted
    }
    const controller = new AbortController();
    const info: RunningTask = { ...toInfo(row), signal: controller.signal };
    let pending: PromiseLike<unknown> | undefined;
    try {
      const handler = this.handlers[row.name] as ((payload: unknown, task: RunningTask) => unknown) | undefined;
      if (!handler) throw new AlarmQueueError(`No handler for task "${row.name}".`);
      const payload = JSON.parse(row.payload) as unknown;
      this.sql.transaction(() => {
        const result = handler(payload, info);
        if (isThenable(result)) {
          pending = result;
          return;
        }
        // Same transaction as the handler's writes: both commit, or both roll back.
        this.complete(row, cutoff);
      });
      if (pending) {
        const ms = this.timeouts[row.name] ?? this.timeoutMs;
        // A handler that settles after its timeout changes nothing: its attempt was counted.
        await withDeadline(pending, ms, controller, () => new TaskTimeoutError(row.name, ms));
        this.complete(row, cutoff);
      }
    } catch (error) {
      this.changes.count += 1;
      this.fail(row, info, error, report, cutoff);
      return !pending && !guarded;
    }
    // Synchronous completions count too: a run of another queue instance on this storage may hold
    // this row in the chunk it read, and must not run the task again.
    this.changes.count += 1;
    report.succeeded += 1;
    return !pending && !guarded;
  }

  /**
   * A one-shot task is removed; a cron task moves to its next occurrence after now (missed ones are
   * skipped), and never to one at or before the run's cutoff, even when the clock stepped back.
   * `revision` makes it apply only to the version of the task that ran.
   */
  private complete(row: TaskRow, cutoff: number): void {
    const next = row.cron === null ? null : nextCronTime(row.cron, row.timezone, Math.max(this.now(), cutoff));
    if (next === null) {
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

  private fail(row: TaskRow, info: TaskInfo, error: unknown, report: RunReport, cutoff: number): void {
    const failures = row.attempts + 1;
    const message = errorMessage(error);
    if (failures >= row.max_attempts) {
      this.deadLetter(row, failures, message, report, cutoff);
    } else {
      this.sql.run(
        "UPDATE _alarm_queue_tasks SET attempts = ?, due = ?, last_error = ? WHERE id = ? AND revision = ?",
        failures,
        // After the cutoff even if the clock stepped back: this run never picks the task again.
        Math.max(this.now(), cutoff) + backoffDelay(failures, this.backoff, this.random),
        message,
        row.id,
        row.revision,
      );
      report.failed += 1;
    }
    this.onError(error, info);
  }

  /** Moves this version of the task to the dead letters (a cron schedule goes on: only this occurrence is dead). */
  private deadLetter(row: TaskRow, attempts: number, message: string, report: RunReport, cutoff: number): void {
    const letter = this.sql.transaction(() => {
      const dead = this.sql.one<DeadRow>(
        `INSERT INTO _alarm_queue_dead (task_id, name, key, payload, cron, timezone, attempts, max_attempts, last_error, created_at, failed_at)
         SELECT id, name, key, payload, cron, timezone, ?, max_attempts, ?, created_at, ? FROM _alarm_queue_tasks
         WHERE id = ? AND revision = ?
         RETURNING *`,
        attempts,
        message,
        this.now(),
        row.id,
        row.revision,
      );
      if (dead) this.complete(row, cutoff);
      return dead;
    });
    if (!letter) return;
    report.deadLettered += 1;
    try {
      this.onDeadLetter(toDeadLetter(letter));
    } catch (error) {
      console.error("alarm-queue: the onDeadLetter hook threw", error);
    }
  }

  private state(): StateRow {
    return this.sql.one<StateRow>(`SELECT ${STATE_COLUMNS} FROM _alarm_queue_state WHERE id = 1`)!;
  }

  /**
   * Points the alarm at the earliest due time and saves `nextId`, in one write of the state row at
   * most, and only when something changed. The alarm is written only when the earliest due time
   * changes; an armed time that has passed counts as pending for {@link ARMED_GRACE_MS} after it
   * was written (its alarm is firing or about to), then it is written again, so an alarm the
   * platform gave up on is set anew by the next call. During a run, arming waits for its end.
   * `spent` (a run's end): an armed time is not trusted, since any alarm delivered during the run
   * joined it and is used up, even one that another queue instance on this storage armed meanwhile.
   * Returns the armed due time.
   */
  private arm(state: StateRow, nextId = state.next_id, spent = false): number | null {
    let { armed_at: armedAt, armed_write_at: writtenAt } = state;
    let alarmWrites = 0;
    if (this.runCutoff === null) {
      const next =
        this.sql.one<{ due: number }>("SELECT due FROM _alarm_queue_tasks ORDER BY due LIMIT 1")?.due ?? null;
      const now = this.now();
      if (next === null) {
        if (armedAt !== null) {
          this.observe(this.storage.deleteAlarm(), null);
          [armedAt, writtenAt, alarmWrites] = [null, now, 1];
        }
      } else {
        const pending =
          !spent && armedAt === next && (next > now || Math.abs(now - (writtenAt ?? -Infinity)) < ARMED_GRACE_MS);
        if (!pending) {
          // Output gates hold the object's replies until this write is durable, so it is not awaited
          // (which keeps schedule() synchronous and usable inside transactionSync).
          this.observe(this.storage.setAlarm(Math.min(MAX_ALARM_TIME, alarmTime(next, now))), next);
          [armedAt, writtenAt, alarmWrites] = [next, now, 1];
        }
      }
    }
    if (alarmWrites > 0 || nextId !== state.next_id) {
      this.sql.run(
        "UPDATE _alarm_queue_state SET armed_at = ?, armed_write_at = ?, alarm_writes = alarm_writes + ?, next_id = ? WHERE id = 1",
        armedAt,
        writtenAt,
        alarmWrites,
        nextId,
      );
    }
    return this.runCutoff === null ? armedAt : null;
  }

  /** A refused alarm write must not stay recorded as armed: forget it, so the next call writes it again. */
  private observe(write: Promise<void>, armedAt: number | null): void {
    write.catch((error: unknown) => {
      console.error("alarm-queue: the runtime refused an alarm write; the next schedule or run writes it again", error);
      try {
        this.sql.run(
          "UPDATE _alarm_queue_state SET armed_at = NULL, armed_write_at = NULL WHERE id = 1 AND armed_at IS ?",
          armedAt,
        );
      } catch {
        // The object is broken (a failed write breaks its output gate): it restarts from storage.
      }
    });
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
    if (alarmTime(due, now) > MAX_ALARM_TIME) {
      throw new AlarmQueueError(
        `Task "${name}" would be due at ${describeTime(due)}, after ${new Date(MAX_ALARM_TIME).toISOString()}, ` +
          `the latest time the Workers runtime accepts for an alarm.`,
      );
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

/**
 * The platform time of a queue due time: with an injected clock, the real instant when `due - now`
 * will have elapsed. Past times are clamped to 1 (setAlarm refuses times <= 0; a past alarm fires at once).
 */
function alarmTime(due: number, now: number): number {
  return Math.max(1, due + (Date.now() - now));
}

function describeTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `epoch ms ${ms}` : date.toISOString();
}

function logDeadLetter(letter: DeadLetter): void {
  console.error(
    JSON.stringify({
      level: "error",
      message: "alarm-queue: task moved to the dead letters",
      deadLetter: letter.id,
      task: letter.taskId,
      name: letter.name,
      key: letter.key,
      attempts: letter.attempts,
      lastError: letter.lastError,
    }),
  );
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
