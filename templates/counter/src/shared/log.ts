// Vendored from durable-patterns packages/shared/src/log.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * Structured logs: one JSON line per HTTP request (the Worker), per object operation and per
 * alarm run (the object), so Workers Logs (`observability.enabled` in wrangler.jsonc) can filter
 * and chart what each object did, what failed and what it cost, without anyone reading code.
 *
 * Every line has `level`, `message` and `app`. A request line has `route` (the route's pattern,
 * never the raw URL: a query string can carry a token), `object`, `status`, `ms` and `ray` (the
 * `cf-ray` header, null locally). An object line has `op`, `object`, `outcome`, `ms`, `rowsRead`
 * and `rowsWritten` (from the object's `Sql` meter). An alarm line is an object line whose `op` is
 * `alarm`, with the queue's `RunReport` and the platform's `retryCount`. Nothing else is logged:
 * no bodies, no headers, no query strings, no message texts, no payloads, no secrets.
 *
 * Levels: `error` for failures (5xx, a handler that threw, a dead letter), `warn` for refusals
 * that point to a bug in the client (400, 413, 415, 422), `info` for the rest (a 404 or a 429 is
 * the API working).
 *
 * @example
 * ```ts
 * const app = new Hono<{ Bindings: Env }>().use(requestLog("counter", "name"));
 *
 * // in the object
 * increment(by: number) {
 *   return this.log.op("increment", () => this.sql.one("UPDATE ... RETURNING value", by));
 * }
 * ```
 */
import type { MiddlewareHandler } from "hono";
import type { DeadLetter, RunReport, TaskInfo } from "./alarm-queue";
import { metric } from "./metrics";
import { costBetween, type Sql } from "./sql";

export type LogLevel = "info" | "warn" | "error";

/** The fields of one line besides `level` and `message`. */
export interface LogFields {
  app: string;
  [field: string]: unknown;
}

/** Writes one JSON line at `level` (console.log, console.warn or console.error). */
export function logLine(level: LogLevel, message: string, fields: LogFields): void {
  const line = JSON.stringify({ level, message, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

const RANK: Record<LogLevel, number> = { info: 0, warn: 1, error: 2 };

/**
 * The least level an app writes: its `LOG_LEVEL` var, `"info"` (everything, the default), `"warn"`
 * (refusals that point to a client bug, and failures) or `"error"`. Each line costs CPU (about as
 * much as the counter's own work per increment, measured in local workerd: bench/README.md), so a
 * high-traffic deployment may keep only what needs attention; Workers Logs'
 * `head_sampling_rate` thins what is kept, not what is written.
 */
export function minimumLevel(env: unknown): LogLevel {
  const level = (env as { LOG_LEVEL?: unknown } | undefined)?.LOG_LEVEL;
  return level === "warn" || level === "error" ? level : "info";
}

function writes(level: LogLevel, env: unknown): boolean {
  return RANK[level] >= RANK[minimumLevel(env)];
}

/** The statuses that mean the client sent something it should not have: a bug to fix on its side. */
const CLIENT_BUGS = new Set([400, 413, 415, 422]);

/** The level of a request answered with `status`. */
export function levelOf(status: number): LogLevel {
  if (status >= 500) return "error";
  return CLIENT_BUGS.has(status) ? "warn" : "info";
}

/**
 * Hono middleware: one line per request, after it is answered. `objectParam` names the route
 * parameter that names the object (`name`, `key`, `room`, `id`), logged as `object` where the
 * route has it. A WebSocket upgrade logs its 101 when the socket is handed over.
 */
export function requestLog(app: string, objectParam?: string): MiddlewareHandler {
  return async (c, next) => {
    const started = Date.now();
    await next();
    const status = c.res.status;
    const level = levelOf(status);
    if (!writes(level, c.env)) return;
    logLine(level, "request", {
      app,
      method: c.req.method,
      route: c.req.routePath,
      object: (objectParam && c.req.param(objectParam)) || null,
      status,
      ms: Date.now() - started,
      ray: c.req.header("cf-ray") ?? null,
    });
  };
}

/**
 * What an object logs: one line per operation with its storage cost, and one per alarm run. Create
 * one per object (a field), with the object's metered `Sql`, its name and its `env`: alarm runs and
 * dead letters are also metrics (`<app>:alarm`, `<app>:dead-letter`) when `METRICS` is bound.
 */
export class ObjectLog {
  constructor(
    private readonly app: string,
    private readonly sql: Sql,
    /** The object's name (`ctx.id.name`), or null when the object was made from an id. */
    private readonly object: string | null,
    private readonly env: object = {},
  ) {}

  /**
   * Runs `fn` (synchronous or not) and logs its line: `outcome` is "ok", the refusal's `reason`
   * when `fn` returns `{ ok: false, reason }`, or "error" when it throws (then rethrown). An
   * operation whose results have outcomes of their own (a check that is denied) passes `outcome`.
   */
  op<T>(op: string, fn: () => T, outcome: (result: Awaited<T>) => string = outcomeOf): T {
    const started = Date.now();
    const before = { ...this.sql.meter };
    const done = (ended: string, level: LogLevel, extra: Record<string, unknown> = {}) => {
      if (!writes(level, this.env)) return;
      const { rowsRead, rowsWritten } = costBetween(before, this.sql.meter);
      logLine(level, "operation", {
        app: this.app,
        op,
        object: this.object,
        outcome: ended,
        ms: Date.now() - started,
        rowsRead,
        rowsWritten,
        ...extra,
      });
    };
    const failed = (error: unknown) => {
      done("error", "error", { error: errorName(error) });
      throw error;
    };
    let result: T;
    try {
      result = fn();
    } catch (error) {
      return failed(error);
    }
    if (result instanceof Promise) {
      return result.then((value: Awaited<T>) => {
        done(outcome(value), "info");
        return value;
      }, failed) as T;
    }
    done(outcome(result as Awaited<T>), "info");
    return result;
  }

  /**
   * Runs an alarm invocation (`run`: the queue's `run(info)`) and logs its line: the queue's
   * report, how long it took and the platform's `retryCount`; or an error line when it throws (the
   * platform then retries it), rethrowing.
   *
   * @example
   * ```ts
   * async alarm(info?: AlarmInvocationInfo) {
   *   await this.log.alarm(() => this.queue.run(info), info?.retryCount);
   * }
   * ```
   */
  async alarm(run: () => Promise<RunReport>, retryCount = 0): Promise<RunReport> {
    const started = Date.now();
    const fields = { app: this.app, op: "alarm", object: this.object, retryCount };
    try {
      const report = await run();
      const ms = Date.now() - started;
      if (writes("info", this.env)) logLine("info", "alarm run", { ...fields, outcome: "ok", ms, ...report });
      // doubles: ran, succeeded, failed, dead-lettered, the platform's retry count, ms
      metric(this.env, {
        index: `${this.app}:alarm`,
        blobs: ["ok"],
        doubles: [report.ran, report.succeeded, report.failed, report.deadLettered, retryCount, ms],
      });
      return report;
    } catch (error) {
      logLine("error", "alarm run failed", {
        ...fields,
        outcome: "error",
        ms: Date.now() - started,
        error: errorName(error),
      });
      throw error;
    }
  }

  /**
   * Both of the alarm queue's hooks, logging failed attempts and dead letters: spread them into
   * its options (`new AlarmQueue(ctx, { ...this.log.queueHooks, handlers })`).
   */
  get queueHooks(): { onError: (error: unknown, task: TaskInfo) => void; onDeadLetter: (letter: DeadLetter) => void } {
    return { onError: this.taskFailed, onDeadLetter: this.deadLetter };
  }

  /**
   * The alarm queue's `onError` hook: an error line per failed attempt of a task (it is retried
   * with backoff until its last attempt), with its name, key and attempt, never its payload.
   */
  readonly taskFailed = (error: unknown, task: TaskInfo): void => {
    logLine("error", "task failed", {
      app: this.app,
      op: "task",
      object: this.object,
      outcome: "error",
      task: task.name,
      key: task.key,
      attempt: task.attempts + 1,
      maxAttempts: task.maxAttempts,
      error: errorName(error),
    });
  };

  /**
   * The alarm queue's `onDeadLetter` hook: an error line with the task's name, key, attempts and
   * last error (never its payload, which may hold personal data).
   */
  readonly deadLetter = (letter: DeadLetter): void => {
    logLine("error", "task moved to the dead letters", {
      app: this.app,
      op: "dead-letter",
      object: this.object,
      outcome: "dead",
      deadLetter: letter.id,
      task: letter.name,
      key: letter.key,
      attempts: letter.attempts,
      lastError: letter.lastError,
    });
    // blobs: the task's name; doubles: its attempts
    metric(this.env, { index: `${this.app}:dead-letter`, blobs: [letter.name], doubles: [letter.attempts] });
  };
}

/** An error's name and message, never its stack's local values; a non-Error as text. */
function errorName(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function outcomeOf(value: unknown): string {
  if (typeof value === "object" && value !== null && (value as { ok?: unknown }).ok === false) {
    const reason = (value as { reason?: unknown }).reason;
    return typeof reason === "string" ? reason : "refused";
  }
  return "ok";
}
