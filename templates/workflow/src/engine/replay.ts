/**
 * The replay engine: one run of a workflow's function against the steps SQLite remembers.
 *
 * Each call of `step.do` / `sleep` / `waitForEvent` is matched to its stored step by its key,
 * `name#n` (the n-th call of that name in the run), never by position: branches started with
 * `Promise.all` finish in any order, and a replay resolves stored results in yet another, so only
 * the name and call count identify a call (as in Cloudflare Workflows and Inngest). A stored step of
 * another kind, a new step started before stored ones the code has not reached, or stored steps
 * the code no longer calls stop the run with a NonDeterminismError. A completed step returns its
 * stored result; an uncompleted one executes (its attempt is durable before it runs, its result
 * before the code goes on). A sleep, a wait without its event, a retry delay or a spent run
 * budget parks its branch (its promise does not settle in this run) while the other branches go
 * on, as they would live; once every branch is parked or done, the run ends with the earliest
 * wake-up time, which the runner turns into an alarm-queue task; the next run replays from the
 * top. A failure in any branch ends the run at once (undos run), whatever other branches wait for.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { withDeadline, type Sql, type SqlValue } from "../shared";
import type {
  AttemptInfo,
  RetryConfig,
  StepConfig,
  Workflow,
  WorkflowContext,
  WorkflowEvent,
  WorkflowStep,
} from "./define";
import { MAX_DURATION_MS, boundedMilliseconds, toMilliseconds, type Duration } from "./duration";
import {
  InvalidStepError,
  NestedStepError,
  NonJsonResultError,
  NonDeterminismError,
  NonRetryableError,
  StepFailedError,
  StepTimeoutError,
  UnsupportedPatternError,
  WaitTimeoutError,
  toStoredError,
  type StoredError,
} from "./errors";
import type { InstanceError, StepKind, StepStatus } from "../protocol";
import { decodeJson, encodeOutput, loadOutputJson, storeOutput } from "./step-output";

/** Retries when a step says nothing: 5 retries, 10 s, doubling, up to 10 % jitter (Cloudflare Workflows' defaults). */
export const DEFAULT_RETRIES: RetryConfig = { limit: 5, delay: 10_000, backoff: "exponential", jitter: 0.1 };
/**
 * Longest one attempt may run: the default, and the most a step may ask for. One alarm invocation
 * may run 15 minutes; a step attempt that starts near the end of a run's budget must still end
 * inside it (see {@link DEFAULT_RUN_BUDGET}).
 */
export const DEFAULT_STEP_TIMEOUT_MS = 10 * 60_000;
export const MAX_STEP_TIMEOUT_MS = DEFAULT_STEP_TIMEOUT_MS;

/**
 * How much work one run does before it yields: no step attempt starts once `attempts` attempts
 * started in this run, or `ms` have passed since it began; the run ends with the instance still
 * `running` and the next alarm continues it (replaying what is stored). So an invocation ends by
 * `ms` plus one step attempt (10 minutes at most), under the 15 minutes the platform allows, and
 * the engine's own CPU per invocation stays bounded (about 0.2 ms per step, so 1,000 attempts is
 * well under the 30 s CPU limit). The cost of a yield is one alarm and one replay of the stored
 * steps.
 */
export const DEFAULT_RUN_BUDGET: RunBudget = { attempts: 1_000, ms: 60_000 };

/** See {@link DEFAULT_RUN_BUDGET}. */
export interface RunBudget {
  attempts: number;
  ms: number;
}
/** How long `waitForEvent` waits when it says nothing. */
export const DEFAULT_EVENT_TIMEOUT_MS = 24 * 3_600_000;
/** Largest workflow output: it is one column of the instance row. */
export const MAX_WORKFLOW_OUTPUT_BYTES = 1024 * 1024;

/** A step's row. */
export interface StepRow extends Record<string, SqlValue> {
  seq: number;
  key: string;
  name: string;
  kind: StepKind;
  status: StepStatus;
  attempts: number;
  started_at: number;
  finished_at: number | null;
  wake_at: number | null;
  output: string | null;
  output_bytes: number | null;
  error: string | null;
  /** The event type a waiting `waitForEvent` waits for (null for other steps, and before issue #15). */
  wait_type: string | null;
}

/** What the replay needs from its Durable Object. */
export interface ReplayHost {
  readonly sql: Sql;
  now(): number;
  random(): number;
  /** True while the instance may start new steps: still `running`, and not restarted since. */
  mayStart(generation: number): boolean;
  /** True while results of `generation` may be stored (a restart makes them void). */
  mayStore(generation: number): boolean;
  /** A step row changed (for live progress). */
  stepChanged(seq: number): void;
  /**
   * A step attempt ended (for metrics): how, which attempt, and how long its function ran on the
   * host's clock. An attempt found cut off by a crash ends with `ms` 0 (its time was never seen).
   * Not called for an attempt whose result a restart made void.
   */
  attemptEnded?(attempt: AttemptReport): void;
  /** Resolves once every write so far is durable (`ctx.storage.sync()`). */
  flush(): Promise<void>;
  /** When the run yields to the next alarm. */
  readonly budget: RunBudget;
}

/** One step attempt as {@link ReplayHost.attemptEnded} hears of it. Never its output or its error. */
export interface AttemptReport {
  kind: "do" | "undo";
  /** `complete`, `retrying` (another attempt is scheduled) or `errored` (the step failed for good). */
  outcome: "complete" | "retrying" | "errored";
  /** 1 for the first attempt. */
  attempt: number;
  ms: number;
}

/** How a run ended. */
export type ReplayOutcome =
  | { kind: "complete"; output: string | null }
  | { kind: "suspended"; wakeAt: number; yielded: boolean }
  | { kind: "errored"; error: InstanceError }
  | { kind: "interrupted" };

/**
 * The delay before retry `retry` (1 for the first), jitter included: between
 * `(1 − jitter) · base` and `base`, and never more than 365 days.
 *
 * @example
 * ```ts
 * retryDelay(3, { limit: 5, delay: 1000, backoff: "exponential", jitter: 0 }, Math.random); // 4000
 * ```
 */
export function retryDelay(retry: number, config: RetryConfig, random: () => number): number {
  const delay = toMilliseconds(config.delay);
  const base = Math.min(
    MAX_DURATION_MS,
    config.backoff === "constant" ? delay : config.backoff === "linear" ? delay * retry : delay * 2 ** (retry - 1),
  );
  const jitter = Math.min(1, Math.max(0, config.jitter));
  return Math.round(base * (1 - jitter * random()));
}

/** Thrown through workflow code to end the run; the engine never lets code that catches it go on. */
class Stop extends Error {
  override name = "WorkflowSuspended";
  constructor() {
    super("The workflow is suspended. Do not catch this error: it ends the run, which resumes later.");
  }
}

/**
 * A sleep, a wait, a retry delay or a spent budget parks its call: the call's promise never
 * settles in this run, so its branch stays where it is while the other branches go on (as they
 * would live), and the run ends once nothing else can move. Internal: it never reaches workflow
 * code (see `track`).
 */
class Park {}

/** `parked()`'s answer: every branch is parked or done, nothing is in flight. */
const PARKED = Symbol("parked");

interface Undo {
  name: string;
  run: () => unknown;
}

/**
 * A stored step as the run loads it: the whole row, except an output over
 * {@link PRELOADED_OUTPUT_CHARS}, which is read again (by rowid) only when the code calls the step.
 */
interface StoredStep extends StepRow {
  /** 1 when `output` was left out because it is large. */
  big: number;
}

/** Outputs up to this many characters are loaded with the run's first read; larger ones on demand. */
const PRELOADED_OUTPUT_CHARS = 1024;

/**
 * The step whose function is running, across its awaits (`nodejs_als` in wrangler.jsonc): a step
 * called there is nested. Parallel branches of the workflow function run outside any step.
 */
const activeStep = new AsyncLocalStorage<string>();

/**
 * The promise of a sleep or a wait. A subclass, so that every promise derived from it
 * (`step.sleep(…).then(…)`, `.catch`, `.finally`) is one too, through the species, and carries
 * `origin`: the Promise.race / any guard recognises them all. Marking native promises instead would
 * need an own `then` on them, which turns off V8's fast path for every `await` in the isolate; this
 * way only these promises take the slower path.
 */
class Suspension<T> extends Promise<T> {
  origin?: { replay: Replay; call: string };

  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    const derived = super.then(onFulfilled, onRejected) as Suspension<A | B>;
    derived.origin = this.origin;
    return derived;
  }
}
const GUARDED = Symbol.for("durable-patterns.workflow.guarded");

/**
 * `Promise.race` and `Promise.any` refuse a sleep or a wait of a running workflow. A suspension
 * ends the run, so the race cannot be decided the way it would be live (the step that settles
 * first would be ignored until the sleep ends, an event consumed by the losing wait would be
 * dropped). Installed once per isolate; every other use of the two is passed through unchanged.
 */
function guardRaces(): void {
  for (const method of ["race", "any"] as const) {
    const original = Promise[method] as (this: PromiseConstructor, values: Iterable<unknown>) => Promise<unknown>;
    if ((original as unknown as Record<symbol, boolean>)[GUARDED]) continue;
    const guarded = function (this: PromiseConstructor, values: Iterable<unknown>): Promise<unknown> {
      if (values === null || typeof (values as Partial<Iterable<unknown>>)?.[Symbol.iterator] !== "function") {
        return original.call(this, values);
      }
      const list = Array.from(values);
      for (const value of list) {
        const entry = value instanceof Suspension ? value.origin : undefined;
        if (entry) {
          // Subscribed anyway, as the combinator would be, so the refused sleep or wait ending
          // with the run's suspension is not reported as an unhandled rejection.
          original.call(this, list).catch(() => undefined);
          return Promise.reject(entry.replay.refuse(method, entry.call));
        }
      }
      return original.call(this, list);
    };
    Object.defineProperty(guarded, GUARDED, { value: true });
    Object.defineProperty(Promise, method, { value: guarded, writable: true, configurable: true });
  }
}
guardRaces();

export class Replay implements WorkflowStep {
  /** Stored steps by key, loaded once at the start of the run (seq, key, kind: no outputs). */
  private readonly stored = new Map<string, StoredStep>();
  /** Stored steps (undos aside) the code has not called yet in this run. */
  private unentered = 0;
  private readonly entered = new Set<string>();
  private nextSeq = 0;
  private readonly calls = new Map<string, number>();
  private readonly kinds = new Map<string, StepKind>();
  private wakeAt: number | null = null;
  private interrupted = false;
  private nondeterminism: NonDeterminismError | null = null;
  /** Set once the workflow function has thrown: no new step starts, only undos. */
  private failed = false;
  /** Set when a Promise.race / any over a suspension was refused: the run fails with it. */
  private refusal: UnsupportedPatternError | null = null;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly undos: Undo[] = [];
  /** The run's budget spent so far, and whether it ran out (the run yields, it does not wait). */
  private startedAt = 0;
  private attemptsStarted = 0;
  private yielded = false;
  /** Calls parked in this run, and a wake-up for `parked()` when a call starts or parks. */
  private parks = 0;
  private activity: () => void = () => undefined;

  constructor(
    private readonly host: ReplayHost,
    private readonly generation: number,
  ) {}

  /**
   * Runs `workflow` from the top until it completes, fails, or every branch is parked (a sleep, a
   * wait without its event, a retry delay, a spent budget) with nothing left in flight.
   */
  async play<P>(workflow: Workflow<P, unknown>, params: P, context: WorkflowContext): Promise<ReplayOutcome> {
    this.startedAt = this.host.now();
    this.load();
    const run = Promise.resolve()
      .then(() => workflow.run(params, this, context))
      .then(
        (output: unknown) => ({ output }),
        (error: unknown) => ({ error }),
      );
    const ended = await Promise.race([run, this.parked()]);
    let outcome: ReplayOutcome;
    if (ended === PARKED) {
      outcome = this.halted() ?? (this.refusal ? await this.fail(this.refusal) : this.suspended()!);
    } else if ("error" in ended || this.refusal) {
      const error = "error" in ended ? ended.error : this.refusal;
      // A failure (not an internal stop) ends the run now, whatever other branches are parked on,
      // as a rejected Promise.all would live. Steps still running in parallel branches finish
      // first and store their results, so their undos run too; none starts from here on.
      if (!(error instanceof Stop)) this.failed = true;
      await this.drain();
      outcome = this.halted() ?? (await this.fail(this.refusal ?? error));
    } else {
      // Returned, possibly beside a call it never awaited that parked: then it runs again later.
      outcome = this.halted() ?? this.suspended() ?? this.finish(ended.output);
    }
    // Steps started in parallel (Promise.all) that are still running finish and store their
    // results before the run ends, so the next run never starts them a second time.
    await this.drain();
    return this.halted() ?? outcome;
  }

  do<T>(name: string, fn: (attempt: AttemptInfo) => Promise<T> | T): Promise<T>;
  do<T>(name: string, config: StepConfig<T>, fn: (attempt: AttemptInfo) => Promise<T> | T): Promise<T>;
  do<T>(
    name: string,
    configOrFn: StepConfig<T> | ((attempt: AttemptInfo) => Promise<T> | T),
    maybeFn?: (attempt: AttemptInfo) => Promise<T> | T,
  ): Promise<T> {
    const [config, fn] = typeof configOrFn === "function" ? [{}, configOrFn] : [configOrFn, maybeFn!];
    try {
      this.notNested("do", name);
      checkConfig(name, config, fn);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.track(this.runStep("do", name, config, fn));
  }

  sleep(name: string, duration: Duration): Promise<void> {
    const call = `step.sleep "${name}"`;
    let ms: number;
    try {
      this.notNested("sleep", name);
      ms = bounded(duration, call);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.suspendable(this.track(this.runSleep(name, (now) => now + ms)), call);
  }

  sleepUntil(name: string, until: Date | number): Promise<void> {
    const call = `step.sleepUntil "${name}"`;
    const at = typeof until === "number" ? until : until instanceof Date ? until.getTime() : Number.NaN;
    try {
      this.notNested("sleep", name);
      if (!Number.isFinite(at)) throw new InvalidStepError(`${call} needs a valid date.`);
      if (at - this.host.now() > MAX_DURATION_MS) {
        throw new InvalidStepError(`${call}: ${new Date(at).toISOString()} is more than the limit of 365 days away.`);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.suspendable(this.track(this.runSleep(name, () => at)), call);
  }

  waitForEvent<T = unknown>(name: string, options: { type: string; timeout?: Duration }): Promise<WorkflowEvent<T>> {
    const call = `step.waitForEvent "${name}"`;
    let timeoutMs: number;
    try {
      this.notNested("wait", name);
      if (typeof options?.type !== "string") throw new InvalidStepError(`${call} needs an event type.`);
      timeoutMs = bounded(options.timeout ?? DEFAULT_EVENT_TIMEOUT_MS, `${call}: timeout`);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.suspendable(this.track(this.runWait<T>(name, options.type, timeoutMs)), call);
  }

  /**
   * Called by the Promise.race / any guard: the run fails with this error (undos run) instead of
   * suspending on the sleep or wait, which stores nothing and consumes no event.
   */
  refuse(method: "race" | "any", call: string): UnsupportedPatternError {
    const error = new UnsupportedPatternError(
      `Promise.${method} over ${call} cannot be replayed: a sleep or a wait ends the run, so the first to ` +
        `settle would not win and an event taken by the losing wait would be lost. To wait for an event ` +
        `with a deadline, use step.waitForEvent(name, { type, timeout }) and catch its WaitTimeoutError; ` +
        `to bound a step, give it a timeout.`,
    );
    this.refusal ??= error;
    this.wakeAt = null;
    return error;
  }

  private async runStep<T>(
    kind: "do" | "undo",
    name: string,
    config: StepConfig<T>,
    fn: (attempt: AttemptInfo) => Promise<T> | T,
  ): Promise<T> {
    const { seq, key, row } = this.enter(kind, name);
    const retries = { ...DEFAULT_RETRIES, ...config.retries };
    if (row?.status === "complete") {
      const value = decodeJson(loadOutputJson(this.host.sql, seq, row.output, row.output_bytes)) as T;
      this.remember(kind, name, config, value);
      return value;
    }
    if (row?.status === "errored") throw new StepFailedError(name, row.attempts, parseError(row.error));
    if (row?.status === "retrying" && row.wake_at !== null && row.wake_at > this.host.now()) {
      throw this.park(row.wake_at);
    }
    if (row && row.attempts >= retries.limit + 1) {
      // Found "running": the object died during this step's last allowed attempt.
      return this.attemptFailed(kind, seq, name, row.attempts, retries, 0, {
        name: "CrashError",
        message: "The object was restarted or crashed during the last attempt.",
      });
    }
    if (!row) await this.beforeNewStep(kind, key);
    this.startable(kind);
    if (this.spent()) throw this.yield();
    this.attemptsStarted++;
    const attempt = (row?.attempts ?? 0) + 1;
    // Written before the attempt runs: a crash in the middle still counts, so a step that kills
    // its object cannot loop forever. The output gate holds the step's own fetches until this is durable.
    if (row) {
      this.host.sql.run(
        "UPDATE steps SET status = 'running', attempts = ?, wake_at = NULL WHERE seq = ?",
        attempt,
        seq,
      );
    } else {
      this.host.sql.run(
        "INSERT INTO steps (seq, key, name, kind, status, attempts, started_at) VALUES (?, ?, ?, ?, 'running', 1, ?)",
        seq,
        key,
        name,
        kind,
        this.host.now(),
      );
    }
    this.host.stepChanged(seq);
    // Durable before the step's code runs: without this, a step that kills the isolate before its
    // first I/O (out of memory, a CPU-bound crash) would roll the attempt back with it and be
    // retried forever. One round trip per attempt buys the retry limit's guarantee.
    await this.host.flush();
    let value: T;
    let encoded;
    const started = this.host.now();
    try {
      value = await runAttempt(name, config.timeout, (info) => this.inside(kind, name, () => fn(info)), attempt);
      // An undo's result is never handed to code: one JSON cannot carry is dropped, not a failure.
      encoded = kind === "undo" && !isJson(name, value) ? encodeOutput(name, undefined) : encodeOutput(name, value);
    } catch (error) {
      if (!this.host.mayStore(this.generation)) throw this.interrupt();
      return this.attemptFailed(kind, seq, name, attempt, retries, this.host.now() - started, error);
    }
    if (!this.host.mayStore(this.generation)) throw this.interrupt();
    const ms = this.host.now() - started;
    this.host.sql.transaction(() => {
      const inline = storeOutput(this.host.sql, seq, encoded);
      this.host.sql.run(
        "UPDATE steps SET status = 'complete', output = ?, output_bytes = ?, finished_at = ? WHERE seq = ?",
        inline,
        encoded.json === null ? null : encoded.bytes,
        this.host.now(),
        seq,
      );
    });
    // Durable before the code goes on: a crash after this step returned (in the workflow's own
    // code, or before the next step's attempt is flushed) must not roll the result back and run
    // the step again. One more commit per step.
    await this.host.flush();
    this.host.stepChanged(seq);
    this.host.attemptEnded?.({ kind, outcome: "complete", attempt, ms });
    const result = decodeJson(encoded.json) as T; // what a replay will return, exactly
    this.remember(kind, name, config, result);
    return result;
  }

  private attemptFailed(
    kind: "do" | "undo",
    seq: number,
    name: string,
    attempt: number,
    retries: RetryConfig,
    ms: number,
    error: unknown,
  ): never {
    const stored = isStored(error) ? error : toStoredError(error);
    const now = this.host.now();
    // Once the workflow function has failed, a step of a parallel branch is not retried later:
    // the instance is about to run its undos and end.
    const final = error instanceof NonRetryableError || attempt >= retries.limit + 1 || (this.failed && kind === "do");
    if (final) {
      this.host.sql.run(
        "UPDATE steps SET status = 'errored', attempts = ?, error = ?, finished_at = ?, wake_at = NULL WHERE seq = ?",
        attempt,
        JSON.stringify(stored),
        now,
        seq,
      );
      this.host.stepChanged(seq);
      this.host.attemptEnded?.({ kind, outcome: "errored", attempt, ms });
      throw new StepFailedError(name, attempt, stored);
    }
    const wakeAt = now + retryDelay(attempt, retries, () => this.host.random());
    this.host.sql.run(
      "UPDATE steps SET status = 'retrying', error = ?, wake_at = ? WHERE seq = ?",
      JSON.stringify(stored),
      wakeAt,
      seq,
    );
    this.host.stepChanged(seq);
    this.host.attemptEnded?.({ kind, outcome: "retrying", attempt, ms });
    throw this.park(wakeAt);
  }

  private async runSleep(name: string, wakeFrom: (now: number) => number): Promise<void> {
    const { seq, key, row } = this.enter("sleep", name);
    if (row?.status === "complete") return;
    // One microtask: a Promise.race over this sleep, called right after, is refused before the
    // sleep stores or suspends anything.
    await Promise.resolve();
    if (this.refusal) throw new Stop();
    const now = this.host.now();
    if (!row) {
      this.startable("sleep");
      const wakeAt = wakeFrom(now);
      const done = wakeAt <= now;
      this.host.sql.run(
        "INSERT INTO steps (seq, key, name, kind, status, attempts, started_at, finished_at, wake_at) VALUES (?, ?, ?, 'sleep', ?, 0, ?, ?, ?)",
        seq,
        key,
        name,
        done ? "complete" : "sleeping",
        now,
        done ? now : null,
        wakeAt,
      );
      this.host.stepChanged(seq);
      if (done) return;
      throw this.park(wakeAt);
    }
    if (row.wake_at! > now) throw this.park(row.wake_at!);
    this.startable("sleep");
    this.host.sql.run("UPDATE steps SET status = 'complete', finished_at = ? WHERE seq = ?", now, seq);
    this.host.stepChanged(seq);
  }

  private async runWait<T>(name: string, type: string, timeoutMs: number): Promise<WorkflowEvent<T>> {
    const { seq, key, row } = this.enter("wait", name);
    if (row?.status === "complete") return decodeJson(row.output) as WorkflowEvent<T>;
    if (row?.status === "errored") throw new WaitTimeoutError(name, type, timeoutMs);
    // One microtask: a Promise.race over this wait, called right after, is refused before the wait
    // consumes an event it would then drop.
    await Promise.resolve();
    if (this.refusal) throw new Stop();
    const now = this.host.now();
    // The oldest event of this type nobody consumed, sent before or after the wait began.
    const event = this.host.sql.one<{ id: number; payload: string | null; received_at: number }>(
      "SELECT id, payload, received_at FROM events WHERE type = ? AND consumed_by IS NULL ORDER BY id LIMIT 1",
      type,
    );
    if (event) {
      this.startable("wait");
      const value: WorkflowEvent<T> = {
        type,
        payload: decodeJson(event.payload) as T,
        timestamp: new Date(event.received_at).toISOString(),
      };
      const json = JSON.stringify(value);
      this.host.sql.transaction(() => {
        this.host.sql.run("UPDATE events SET consumed_by = ? WHERE id = ?", seq, event.id);
        this.endWait({ seq, key, name, row, now }, { status: "complete", output: json, error: null, wakeAt: null });
      });
      this.host.stepChanged(seq);
      return JSON.parse(json) as WorkflowEvent<T>;
    }
    const deadline = row?.wake_at ?? now + timeoutMs;
    if (now >= deadline) {
      this.startable("wait");
      const error = new WaitTimeoutError(name, type, timeoutMs);
      const stored = JSON.stringify(toStoredError(error));
      this.endWait({ seq, key, name, row, now }, { status: "errored", output: null, error: stored, wakeAt: deadline });
      this.host.stepChanged(seq);
      throw error;
    }
    if (!row) {
      this.startable("wait");
      this.host.sql.run(
        // The type waited for: an event of it is accepted even when its type's backlog is full.
        "INSERT INTO steps (seq, key, name, kind, status, attempts, started_at, wake_at, wait_type) VALUES (?, ?, ?, 'wait', 'waiting', 0, ?, ?, ?)",
        seq,
        key,
        name,
        now,
        deadline,
        type,
      );
      this.host.stepChanged(seq);
    }
    throw this.park(deadline);
  }

  /**
   * Stores how a wait ended, received (`output`) or timed out (`error`), in one row write: its row
   * when it had suspended, or a new row already ended when it ended on its first call.
   */
  private endWait(
    step: { seq: number; key: string; name: string; row: StepRow | null; now: number },
    end: { status: "complete" | "errored"; output: string | null; error: string | null; wakeAt: number | null },
  ): void {
    const { seq, key, name, row, now } = step;
    const bytes = end.output === null ? null : end.output.length;
    if (row) {
      this.host.sql.run(
        "UPDATE steps SET status = ?, output = ?, output_bytes = ?, error = ?, finished_at = ? WHERE seq = ?",
        end.status,
        end.output,
        bytes,
        end.error,
        now,
        seq,
      );
    } else {
      this.host.sql.run(
        `INSERT INTO steps (seq, key, name, kind, status, attempts, started_at, finished_at, wake_at, output, output_bytes, error)
         VALUES (?, ?, ?, 'wait', ?, 0, ?, ?, ?, ?, ?, ?)`,
        seq,
        key,
        name,
        end.status,
        now,
        now,
        end.wakeAt,
        end.output,
        bytes,
        end.error,
      );
    }
  }

  /**
   * Reads every stored step once (one row read each, the cost the old by-position reads had), so
   * a call is matched by key in memory. Large outputs stay on disk until their step is called,
   * which bounds what a run of a long instance holds in memory.
   */
  private load(): void {
    const steps = this.host.sql.all<StoredStep>(
      `SELECT seq, key, name, kind, status, attempts, started_at, finished_at, wake_at, output_bytes, error,
              CASE WHEN length(output) <= ${PRELOADED_OUTPUT_CHARS} THEN output END AS output,
              coalesce(length(output) > ${PRELOADED_OUTPUT_CHARS}, 0) AS big
       FROM steps`,
    );
    for (const step of steps) {
      this.stored.set(step.key, step);
      this.nextSeq = Math.max(this.nextSeq, step.seq + 1);
      if (step.kind !== "undo") this.unentered++;
    }
  }

  /**
   * Matches a call to its stored step by key (`name#n`, the n-th call of `name` in this run) and
   * returns that step's row, or null for a step that never ran. New steps take the next position.
   */
  private enter(kind: StepKind, name: string): { seq: number; key: string; row: StepRow | null } {
    if (this.interrupted || this.nondeterminism) throw new Stop();
    const usedAs = this.kinds.get(name);
    if (usedAs !== undefined && usedAs !== kind) {
      throw new InvalidStepError(
        `${describeCall(kind, name)} reuses the name of ${describeCall(usedAs, name)}; give each step its own name.`,
      );
    }
    this.kinds.set(name, kind);
    const n = (this.calls.get(name) ?? 0) + 1;
    this.calls.set(name, n);
    const key = `${name}#${n}`;
    const stored = this.stored.get(key);
    if (!stored) return { seq: this.nextSeq++, key, row: null };
    if (!this.entered.has(key) && stored.kind !== "undo") this.unentered--;
    this.entered.add(key);
    if (stored.kind !== kind) {
      throw this.changed(
        `The workflow now calls ${describeCall(kind, key)}, but when this instance ran it, "${key}" was ` +
          `${describeCall(stored.kind, key)}.`,
      );
    }
    const { big, ...row } = stored;
    return {
      seq: stored.seq,
      key,
      row: big ? this.host.sql.one<StepRow>("SELECT * FROM steps WHERE seq = ?", stored.seq) : row,
    };
  }

  /**
   * Before a step that never ran starts: every branch first replays its stored steps (they settle
   * in microtasks). A stored step still not called after a whole turn means the code reaches a new
   * step before one it already ran: a step was inserted, the code changed.
   */
  private async beforeNewStep(kind: "do" | "undo", key: string): Promise<void> {
    // A few microtask ticks let other branches' stored results and a failure propagate; a timer
    // turn (about a millisecond) is only paid when stored steps are still not called after them.
    for (let tick = 0; tick < 8; tick++) await Promise.resolve();
    if (this.unentered > 0) await new Promise<void>((resolve) => setTimeout(resolve, 0));
    if (this.interrupted || this.nondeterminism || this.refusal) throw new Stop();
    if (this.failed && kind === "do") throw new Stop();
    // A parked branch never holds stored steps it has not called: what follows a sleep, a wait or
    // a retry delay that has not ended never ran.
    if (this.unentered === 0) return;
    const first = [...this.stored.values()]
      .filter((step) => step.kind !== "undo" && !this.entered.has(step.key))
      .sort((a, b) => a.seq - b.seq)[0]!;
    throw this.changed(
      `The workflow now calls ${describeCall(kind, key)} before ${describeCall(first.kind, first.key)}, which this ` +
        `instance already ran.`,
    );
  }

  private changed(what: string): NonDeterminismError {
    this.nondeterminism ??= new NonDeterminismError(
      `${what} The workflow's code changed while the instance was running; restart the instance to run it with the new code.`,
    );
    return this.nondeterminism;
  }

  /** A step called inside another step's function is refused: a replay would never call it again. */
  private notNested(kind: StepKind, name: string): void {
    const outer = activeStep.getStore();
    if (outer === undefined) return;
    throw new NestedStepError(
      `${describeCall(kind, name)} was called inside the function of ${outer}: steps cannot be nested, ` +
        `because a replay returns the outer step's stored result without calling its function. Call both steps ` +
        `from the workflow function, one after the other.`,
    );
  }

  /** Calls a step's function as the active step, through every await of it. */
  private inside<T>(kind: StepKind, name: string, fn: () => T): T {
    return activeStep.run(describeCall(kind, name), fn);
  }

  /** A sleep's or wait's promise, as a {@link Suspension} the Promise.race / any guard recognises. */
  private suspendable<T>(promise: Promise<T>, call: string): Promise<T> {
    const suspension = new Suspension<T>((resolve, reject) => promise.then(resolve, reject));
    suspension.origin = { replay: this, call };
    return suspension;
  }

  /** New work starts only while the instance is running (not paused or terminated meanwhile). */
  private startable(kind: StepKind): void {
    if (this.failed && kind !== "undo") throw new Stop();
    if (!this.host.mayStart(this.generation)) throw this.interrupt();
  }

  private interrupt(): Stop {
    this.interrupted = true;
    return new Stop();
  }

  /** True once this run has started its budget of attempts, or run for its budget of time. */
  private spent(): boolean {
    const { attempts, ms } = this.host.budget;
    return this.attemptsStarted >= attempts || this.host.now() - this.startedAt >= ms;
  }

  /** Parks the call to be continued at once by the next alarm: a new invocation, a fresh budget. */
  private yield(): Park {
    this.yielded = true;
    return this.park(this.host.now());
  }

  /** Parks the call until `at`: the run, once nothing else can move, suspends until the earliest. */
  private park(at: number): Park {
    if (!this.refusal) this.wakeAt = this.wakeAt === null ? at : Math.min(this.wakeAt, at);
    this.parks++;
    this.activity();
    return new Park();
  }

  /**
   * Resolves once some call has parked and nothing is in flight any more, after a timer turn (so
   * every branch has replayed what it could and reached a new step, a park or its end).
   */
  private async parked(): Promise<typeof PARKED> {
    for (;;) {
      await this.drain();
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      if (this.inflight.size > 0) continue;
      if (this.parks > 0 || this.halted()) return PARKED;
      // Nothing parked yet: the code is between steps (or awaits something that is not a step).
      await new Promise<void>((resolve) => (this.activity = resolve));
    }
  }

  private async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Set when the run must end whatever the code did with the error it was thrown. */
  private halted(): ReplayOutcome | null {
    if (this.interrupted) return { kind: "interrupted" };
    if (this.nondeterminism) return { kind: "errored", error: toStoredError(this.nondeterminism) };
    return null;
  }

  /** Set when some call parked: the run suspends until the earliest wake-up. */
  private suspended(): ReplayOutcome | null {
    return this.wakeAt === null ? null : { kind: "suspended", wakeAt: this.wakeAt, yielded: this.yielded };
  }

  /**
   * Counts the call in flight until it settles or parks. A parked call's promise never settles
   * for the workflow code: its branch waits there until the run ends.
   */
  private track<T>(promise: Promise<T>): Promise<T> {
    const settled = promise.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(settled);
    this.activity();
    void settled.then(() => this.inflight.delete(settled));
    return promise.catch((error: unknown) => {
      if (error instanceof Park) return new Promise<never>(() => undefined);
      throw error;
    });
  }

  private remember<T>(kind: StepKind, name: string, config: StepConfig<T>, result: T): void {
    const compensate = config.compensate;
    if (kind === "do" && compensate) this.undos.push({ name, run: () => compensate(result) });
  }

  private finish(output: unknown): ReplayOutcome {
    // Stored steps the code did not call: it now ends before steps that already ran.
    if (this.unentered > 0) {
      const first = [...this.stored.values()]
        .filter((step) => step.kind !== "undo" && !this.entered.has(step.key))
        .sort((a, b) => a.seq - b.seq)[0]!;
      return {
        kind: "errored",
        error: toStoredError(
          this.changed(
            `This workflow now ends without calling ${describeCall(first.kind, first.key)}, which this instance ` +
              `already ran.`,
          ),
        ),
      };
    }
    const json = output === undefined ? null : (JSON.stringify(output) ?? null);
    if (json !== null && new TextEncoder().encode(json).byteLength > MAX_WORKFLOW_OUTPUT_BYTES) {
      return {
        kind: "errored",
        error: {
          name: "OutputTooLargeError",
          message: `The workflow returned more than ${MAX_WORKFLOW_OUTPUT_BYTES} bytes of JSON; return a smaller summary.`,
        },
      };
    }
    return { kind: "complete", output: json };
  }

  /** The workflow threw: run the undos of completed steps, newest first, each a durable step. */
  private async fail(error: unknown): Promise<ReplayOutcome> {
    const compensationErrors: { step: string; error: StoredError }[] = [];
    for (const undo of [...this.undos].reverse()) {
      try {
        await this.runStep("undo", `undo ${undo.name}`, {}, undo.run);
      } catch (undoError) {
        // An undo that waits for its retry delay, or for the next invocation, suspends the run.
        const stop = this.halted() ?? (undoError instanceof Park ? this.suspended() : null);
        if (stop) return stop;
        compensationErrors.push({ step: undo.name, error: toStoredError(undoError) });
      }
    }
    const stored: InstanceError = toStoredError(error);
    if (compensationErrors.length > 0) stored.compensationErrors = compensationErrors;
    return { kind: "errored", error: stored };
  }
}

async function runAttempt<T>(
  name: string,
  timeout: Duration | undefined,
  fn: (attempt: AttemptInfo) => Promise<T> | T,
  attempt: number,
): Promise<T> {
  const ms = toMilliseconds(timeout ?? DEFAULT_STEP_TIMEOUT_MS);
  const controller = new AbortController();
  // A guard on this live attempt, not scheduled work: if the object dies, the alarm queue reruns
  // the step anyway.
  return withDeadline(
    Promise.resolve().then(() => fn({ attempt, signal: controller.signal })),
    ms,
    controller,
    () => new StepTimeoutError(name, ms),
  );
}

/** Reads a duration of a call, refused with an InvalidStepError when unreadable or over 365 days. */
function bounded(duration: Duration, what: string): number {
  try {
    return boundedMilliseconds(duration, what);
  } catch (error) {
    throw new InvalidStepError((error as Error).message);
  }
}

/**
 * Checks a step's config when the step is called, so a mistake fails the instance at once with
 * the field named instead of failing every attempt.
 */
function checkConfig(name: string, config: unknown, fn: unknown): void {
  const call = `step.do "${name}"`;
  if (typeof fn !== "function") throw new InvalidStepError(`${call} needs a function to run.`);
  if (typeof config !== "object" || config === null) {
    throw new InvalidStepError(`${call}: the config must be an object.`);
  }
  const { retries, timeout, compensate } = config as StepConfig<unknown>;
  if (timeout !== undefined && bounded(timeout, `${call}: timeout`) > MAX_STEP_TIMEOUT_MS) {
    throw new InvalidStepError(
      `${call}: timeout is over the limit of ${MAX_STEP_TIMEOUT_MS / 60_000} minutes: an attempt runs inside one ` +
        `alarm invocation, which may last 15 minutes. Split the work into steps, or start it elsewhere and wait ` +
        `for its completion with step.waitForEvent.`,
    );
  }
  if (compensate !== undefined && typeof compensate !== "function") {
    throw new InvalidStepError(`${call}: compensate must be a function.`);
  }
  if (retries === undefined) return;
  if (typeof retries !== "object" || retries === null) {
    throw new InvalidStepError(`${call}: retries must be an object.`);
  }
  const { limit, delay, backoff, jitter } = retries;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
    throw new InvalidStepError(`${call}: retries.limit must be a whole number >= 0, got ${String(limit)}.`);
  }
  if (delay !== undefined) bounded(delay, `${call}: retries.delay`);
  if (backoff !== undefined && !["constant", "linear", "exponential"].includes(backoff)) {
    throw new InvalidStepError(
      `${call}: retries.backoff must be "constant", "linear" or "exponential", got ${JSON.stringify(backoff)}.`,
    );
  }
  if (jitter !== undefined && !(typeof jitter === "number" && jitter >= 0 && jitter <= 1)) {
    throw new InvalidStepError(`${call}: retries.jitter must be a number from 0 to 1, got ${String(jitter)}.`);
  }
}

function describeCall(kind: StepKind, key: string): string {
  const call = { do: "step.do", undo: "the undo", sleep: "step.sleep", wait: "step.waitForEvent" }[kind];
  return `${call} "${key}"`;
}

function isJson(name: string, value: unknown): boolean {
  try {
    encodeOutput(name, value);
    return true;
  } catch (error) {
    if (error instanceof NonJsonResultError) return false;
    throw error;
  }
}

function parseError(json: string | null): StoredError {
  return json ? (JSON.parse(json) as StoredError) : { name: "Error", message: "unknown" };
}

function isStored(error: unknown): error is StoredError {
  return (
    !(error instanceof Error) && typeof error === "object" && error !== null && "name" in error && "message" in error
  );
}
