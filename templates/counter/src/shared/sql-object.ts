// Vendored from durable-patterns packages/shared/src/sql-object.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
import { DurableObject } from "cloudflare:workers";
import { AlarmQueue, type AlarmQueueOptions, type HandlerMap } from "./alarm-queue";
import { ObjectLog } from "./log";
import { Sql } from "./sql";

/**
 * What an object may set on its queue beyond what every object's queue shares (jitter, timeouts,
 * attempts, its own dead-letter hook in place of the log's).
 */
export type QueueOptions<H extends HandlerMap> = Omit<AlarmQueueOptions<H>, "handlers" | "sql" | "now">;

/**
 * The platform's `DurableObject`, with what every object in these apps is built from, written
 * once: metered SQL over its storage, its log, its clock, and its alarm queue. Each app's class
 * extends it and holds only its own migrations, state, RPC methods and handlers.
 *
 * The queue is built on first use, because constructing one creates its tables: an object that
 * never schedules anything never has them (a plain counter stays one row). Memory only caches
 * whether it was built; the tables in storage are the truth, so a transaction that rolls back
 * (see {@link transaction}) or a `deleteAll()` (see {@link forgetQueue}) makes it ask again.
 */
export abstract class SqlDurableObject<E extends object, H extends HandlerMap> extends DurableObject<E> {
  /** Metered SQL: tests read `sql.meter` to assert the storage cost of each operation. */
  readonly sql: Sql;

  /** One log line per operation (with its rows) and per alarm run; see "Operating it" in each README. */
  protected readonly log: ObjectLog;

  /**
   * The object's clock, epoch ms: of its queue and of every time it stores. `Date.now` in
   * production; tests replace it (through `runInDurableObject`) to put a request exactly at an
   * edge or fire a task without waiting, since workerd's `Date.now()` only advances across I/O.
   */
  clock: () => number = Date.now;

  // cache: the queue over its tables, built on first use; forgotten with them
  private builtQueue?: AlarmQueue<H>;

  /** `app` names the app in every log line and metric. */
  constructor(ctx: DurableObjectState, env: E, app: string) {
    super(ctx, env);
    this.sql = new Sql(ctx.storage);
    this.log = new ObjectLog(app, this.sql, ctx.id.name ?? null, env);
  }

  /** The queue's handlers, one per task name (payload types are inferred from them). Asked once per build. */
  protected abstract tasks(): H;

  /** This object's own queue options, if any. */
  protected queueOptions(): QueueOptions<H> {
    return {};
  }

  /** The alarm queue (its tables created here, on first use), with the object's SQL, clock and log. */
  protected get queue(): AlarmQueue<H> {
    return (this.builtQueue ??= new AlarmQueue(this.ctx, {
      ...this.log.queueHooks,
      ...this.queueOptions(),
      sql: this.sql,
      now: () => this.clock(),
      handlers: this.tasks(),
    }));
  }

  /** Whether the queue's tables exist, without creating them: built in this life, or found in storage. */
  protected hasQueue(): boolean {
    return this.builtQueue !== undefined || AlarmQueue.exists(this.sql);
  }

  /** After `ctx.storage.deleteAll()`: the queue's tables went with everything else; its next use builds them again. */
  protected forgetQueue(): void {
    this.builtQueue = undefined;
  }

  /**
   * Runs `fn` in one SQLite transaction. A queue first built inside it has its tables created
   * inside it too: if the transaction rolls back, so does their creation, and memory must not
   * claim otherwise.
   */
  protected transaction<T>(fn: () => T): T {
    const built = this.builtQueue;
    try {
      return this.sql.transaction(fn);
    } catch (error) {
      this.builtQueue = built;
      throw error;
    }
  }

  /**
   * All timed work runs through the alarm queue, the only code that sets the alarm; one log line per
   * run. An object without the queue's tables (never scheduled anything, or purged) has nothing to
   * run, and building the queue here would create them.
   */
  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    if (!this.hasQueue()) return;
    await this.log.alarm(() => this.queue.run(info), info?.retryCount);
  }
}
