/**
 * The replay engine: one run of a workflow's function against the steps SQLite remembers.
 *
 * Each call of `step.do` / `sleep` / `waitForEvent` takes the next position. The step stored at
 * that position must have the same key (`name#n`, the n-th call of that name) and kind, or the
 * code changed under a running instance and the run stops with a NonDeterminismError. A completed
 * step returns its stored result; the first uncompleted one executes (its attempt is written before
 * it runs, its result after). Sleeps, waits and retry delays end the run with a wake-up time; the
 * runner turns that into an alarm-queue task and the next run replays from the top.
 */
import type { Sql, SqlValue } from "@durable-patterns/shared";
import type {
  AttemptInfo,
  RetryConfig,
  StepConfig,
  Workflow,
  WorkflowContext,
  WorkflowEvent,
  WorkflowStep,
} from "./define";
import { toMilliseconds, type Duration } from "./duration";
import {
  NonDeterminismError,
  NonRetryableError,
  StepFailedError,
  StepTimeoutError,
  WaitTimeoutError,
  toStoredError,
  type StoredError,
} from "./errors";
import type { InstanceError, StepKind, StepStatus } from "./protocol";
import { decodeJson, encodeOutput, loadOutputJson, storeOutput } from "./step-output";

/** Retries when a step says nothing: 5 retries, 10 s, doubling, up to 10 % jitter (Cloudflare Workflows' defaults). */
export const DEFAULT_RETRIES: RetryConfig = { limit: 5, delay: 10_000, backoff: "exponential", jitter: 0.1 };
/** Longest one attempt may run when a step says nothing. */
export const DEFAULT_STEP_TIMEOUT_MS = 10 * 60_000;
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
  /** Resolves once every write so far is durable (`ctx.storage.sync()`). */
  flush(): Promise<void>;
}

/** How a run ended. */
export type ReplayOutcome =
  | { kind: "complete"; output: string | null }
  | { kind: "suspended"; wakeAt: number }
  | { kind: "errored"; error: InstanceError }
  | { kind: "interrupted" };

/**
 * The delay before retry `retry` (1 for the first), jitter included: between
 * `(1 − jitter) · base` and `base`.
 *
 * @example
 * ```ts
 * retryDelay(3, { limit: 5, delay: 1000, backoff: "exponential", jitter: 0 }, Math.random); // 4000
 * ```
 */
export function retryDelay(retry: number, config: RetryConfig, random: () => number): number {
  const delay = toMilliseconds(config.delay);
  const base =
    config.backoff === "constant" ? delay : config.backoff === "linear" ? delay * retry : delay * 2 ** (retry - 1);
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

interface Undo {
  name: string;
  run: () => unknown;
}

export class Replay implements WorkflowStep {
  private position = 0;
  private readonly calls = new Map<string, number>();
  private wakeAt: number | null = null;
  private interrupted = false;
  private nondeterminism: NonDeterminismError | null = null;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly undos: Undo[] = [];

  constructor(
    private readonly host: ReplayHost,
    private readonly generation: number,
  ) {}

  /** Runs `workflow` from the top until it completes, fails or suspends. */
  async execute<P>(workflow: Workflow<P, unknown>, params: P, context: WorkflowContext): Promise<ReplayOutcome> {
    let outcome: ReplayOutcome;
    try {
      const output = await workflow.run(params, this, context);
      outcome = this.stopped() ?? this.finish(output);
    } catch (error) {
      outcome = this.stopped() ?? (await this.fail(error));
    }
    // Steps started in parallel (Promise.all) that are still running finish and store their
    // results before the run ends, so the next run never starts them a second time.
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    return this.stopped() ?? outcome;
  }

  do<T>(name: string, fn: (attempt: AttemptInfo) => Promise<T> | T): Promise<T>;
  do<T>(name: string, config: StepConfig<T>, fn: (attempt: AttemptInfo) => Promise<T> | T): Promise<T>;
  do<T>(
    name: string,
    configOrFn: StepConfig<T> | ((attempt: AttemptInfo) => Promise<T> | T),
    maybeFn?: (attempt: AttemptInfo) => Promise<T> | T,
  ): Promise<T> {
    const [config, fn] = typeof configOrFn === "function" ? [{}, configOrFn] : [configOrFn, maybeFn!];
    return this.track(this.runStep("do", name, config, fn));
  }

  sleep(name: string, duration: Duration): Promise<void> {
    const ms = toMilliseconds(duration);
    return this.track(this.runSleep(name, (now) => now + ms));
  }

  sleepUntil(name: string, until: Date | number): Promise<void> {
    const at = typeof until === "number" ? until : until.getTime();
    if (!Number.isFinite(at)) return Promise.reject(new RangeError(`sleepUntil("${name}") needs a valid date.`));
    return this.track(this.runSleep(name, () => at));
  }

  waitForEvent<T = unknown>(name: string, options: { type: string; timeout?: Duration }): Promise<WorkflowEvent<T>> {
    const timeoutMs = toMilliseconds(options.timeout ?? DEFAULT_EVENT_TIMEOUT_MS);
    return this.track(this.runWait<T>(name, options.type, timeoutMs));
  }

  private async runStep<T>(
    kind: "do" | "undo",
    name: string,
    config: StepConfig<T>,
    fn: (attempt: AttemptInfo) => Promise<T> | T,
  ): Promise<T> {
    const { seq, row } = this.enter(kind, name);
    const retries = { ...DEFAULT_RETRIES, ...config.retries };
    if (row?.status === "complete") {
      const value = decodeJson(loadOutputJson(this.host.sql, seq, row.output, row.output_bytes)) as T;
      this.remember(kind, name, config, value);
      return value;
    }
    if (row?.status === "errored") throw new StepFailedError(name, row.attempts, parseError(row.error));
    const now = this.host.now();
    if (row?.status === "retrying" && row.wake_at !== null && row.wake_at > now) throw this.suspend(row.wake_at);
    if (row && row.attempts >= retries.limit + 1) {
      // Found "running": the object died during this step's last allowed attempt.
      return this.attemptFailed(seq, name, row.attempts, retries, {
        name: "CrashError",
        message: "The object was restarted or crashed during the last attempt.",
      });
    }
    this.startable();
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
        this.keyAt(name),
        name,
        kind,
        now,
      );
    }
    this.host.stepChanged(seq);
    // Durable before the step's code runs: without this, a step that kills the isolate before its
    // first I/O (out of memory, a CPU-bound crash) would roll the attempt back with it and be
    // retried forever. One round trip per attempt buys the retry limit's guarantee.
    await this.host.flush();
    let value: T;
    let encoded;
    try {
      value = await runAttempt(name, config.timeout, fn, attempt);
      encoded = encodeOutput(name, value);
    } catch (error) {
      if (!this.host.mayStore(this.generation)) throw this.interrupt();
      return this.attemptFailed(seq, name, attempt, retries, error);
    }
    if (!this.host.mayStore(this.generation)) throw this.interrupt();
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
    this.host.stepChanged(seq);
    const result = decodeJson(encoded.json) as T; // what a replay will return, exactly
    this.remember(kind, name, config, result);
    return result;
  }

  private attemptFailed(seq: number, name: string, attempt: number, retries: RetryConfig, error: unknown): never {
    const stored = isStored(error) ? error : toStoredError(error);
    const now = this.host.now();
    if (error instanceof NonRetryableError || attempt >= retries.limit + 1) {
      this.host.sql.run(
        "UPDATE steps SET status = 'errored', attempts = ?, error = ?, finished_at = ?, wake_at = NULL WHERE seq = ?",
        attempt,
        JSON.stringify(stored),
        now,
        seq,
      );
      this.host.stepChanged(seq);
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
    throw this.suspend(wakeAt);
  }

  private async runSleep(name: string, wakeFrom: (now: number) => number): Promise<void> {
    const { seq, row } = this.enter("sleep", name);
    if (row?.status === "complete") return;
    const now = this.host.now();
    if (!row) {
      this.startable();
      const wakeAt = wakeFrom(now);
      const done = wakeAt <= now;
      this.host.sql.run(
        "INSERT INTO steps (seq, key, name, kind, status, attempts, started_at, finished_at, wake_at) VALUES (?, ?, ?, 'sleep', ?, 0, ?, ?, ?)",
        seq,
        this.keyAt(name),
        name,
        done ? "complete" : "sleeping",
        now,
        done ? now : null,
        wakeAt,
      );
      this.host.stepChanged(seq);
      if (done) return;
      throw this.suspend(wakeAt);
    }
    if (row.wake_at! > now) throw this.suspend(row.wake_at!);
    this.startable();
    this.host.sql.run("UPDATE steps SET status = 'complete', finished_at = ? WHERE seq = ?", now, seq);
    this.host.stepChanged(seq);
  }

  private async runWait<T>(name: string, type: string, timeoutMs: number): Promise<WorkflowEvent<T>> {
    const { seq, row } = this.enter("wait", name);
    if (row?.status === "complete") return decodeJson(row.output) as WorkflowEvent<T>;
    if (row?.status === "errored") throw new WaitTimeoutError(name, type, timeoutMs);
    const now = this.host.now();
    // The oldest event of this type nobody consumed, sent before or after the wait began.
    const event = this.host.sql.one<{ id: number; payload: string | null; received_at: number }>(
      "SELECT id, payload, received_at FROM events WHERE type = ? AND consumed_by IS NULL ORDER BY id LIMIT 1",
      type,
    );
    if (event) {
      this.startable();
      const value: WorkflowEvent<T> = {
        type,
        payload: decodeJson(event.payload) as T,
        timestamp: new Date(event.received_at).toISOString(),
      };
      const json = JSON.stringify(value);
      this.host.sql.transaction(() => {
        this.host.sql.run("UPDATE events SET consumed_by = ? WHERE id = ?", seq, event.id);
        if (row) {
          this.host.sql.run(
            "UPDATE steps SET status = 'complete', output = ?, output_bytes = ?, finished_at = ? WHERE seq = ?",
            json,
            json.length,
            now,
            seq,
          );
        } else {
          this.host.sql.run(
            `INSERT INTO steps (seq, key, name, kind, status, attempts, started_at, finished_at, output, output_bytes)
             VALUES (?, ?, ?, 'wait', 'complete', 0, ?, ?, ?, ?)`,
            seq,
            this.keyAt(name),
            name,
            now,
            now,
            json,
            json.length,
          );
        }
      });
      this.host.stepChanged(seq);
      return JSON.parse(json) as WorkflowEvent<T>;
    }
    const deadline = row?.wake_at ?? now + timeoutMs;
    if (now >= deadline) {
      this.startable();
      const error = new WaitTimeoutError(name, type, timeoutMs);
      const stored = JSON.stringify(toStoredError(error));
      if (row) {
        this.host.sql.run(
          "UPDATE steps SET status = 'errored', error = ?, finished_at = ? WHERE seq = ?",
          stored,
          now,
          seq,
        );
      } else {
        this.host.sql.run(
          `INSERT INTO steps (seq, key, name, kind, status, attempts, started_at, finished_at, wake_at, error)
           VALUES (?, ?, ?, 'wait', 'errored', 0, ?, ?, ?, ?)`,
          seq,
          this.keyAt(name),
          name,
          now,
          now,
          deadline,
          stored,
        );
      }
      this.host.stepChanged(seq);
      throw error;
    }
    if (!row) {
      this.startable();
      this.host.sql.run(
        "INSERT INTO steps (seq, key, name, kind, status, attempts, started_at, wake_at) VALUES (?, ?, ?, 'wait', 'waiting', 0, ?, ?)",
        seq,
        this.keyAt(name),
        name,
        now,
        deadline,
      );
      this.host.stepChanged(seq);
    }
    throw this.suspend(deadline);
  }

  /** Takes the next position, checks it against what was stored there, and returns that row. */
  private enter(kind: StepKind, name: string): { seq: number; row: StepRow | null } {
    if (this.wakeAt !== null || this.interrupted || this.nondeterminism) throw new Stop();
    const seq = this.position++;
    const key = `${name}#${(this.calls.get(name) ?? 0) + 1}`;
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
    const row = this.host.sql.one<StepRow>("SELECT * FROM steps WHERE seq = ?", seq);
    if (row && (row.key !== key || row.kind !== kind)) {
      this.nondeterminism = new NonDeterminismError(
        `Call ${seq + 1} of this workflow is ${describeCall(kind, key)}, but when this instance ran it, ` +
          `call ${seq + 1} was ${describeCall(row.kind, row.key)}. The workflow's code changed while the ` +
          `instance was running; restart the instance to run it with the new code.`,
      );
      throw this.nondeterminism;
    }
    return { seq, row };
  }

  /** The key of the call just entered for `name`. */
  private keyAt(name: string): string {
    return `${name}#${this.calls.get(name)!}`;
  }

  /** New work starts only while the instance is running (not paused or terminated meanwhile). */
  private startable(): void {
    if (!this.host.mayStart(this.generation)) throw this.interrupt();
  }

  private interrupt(): Stop {
    this.interrupted = true;
    return new Stop();
  }

  private suspend(at: number): Stop {
    this.wakeAt = this.wakeAt === null ? at : Math.min(this.wakeAt, at);
    return new Stop();
  }

  /** Set when the run must end whatever the code did with the error it was thrown. */
  private stopped(): ReplayOutcome | null {
    if (this.interrupted) return { kind: "interrupted" };
    if (this.nondeterminism) return { kind: "errored", error: toStoredError(this.nondeterminism) };
    if (this.wakeAt !== null) return { kind: "suspended", wakeAt: this.wakeAt };
    return null;
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    const settled = () => this.inflight.delete(promise);
    promise.then(settled, settled);
    return promise;
  }

  private remember<T>(kind: StepKind, name: string, config: StepConfig<T>, result: T): void {
    const compensate = config.compensate;
    if (kind === "do" && compensate) this.undos.push({ name, run: () => compensate(result) });
  }

  private finish(output: unknown): ReplayOutcome {
    // Steps stored beyond the last call: the code now stops earlier than when they ran.
    const extra = this.host.sql.one<StepRow>("SELECT * FROM steps WHERE seq >= ? ORDER BY seq LIMIT 1", this.position);
    if (extra) {
      return {
        kind: "errored",
        error: toStoredError(
          new NonDeterminismError(
            `This workflow now ends after ${this.position} calls, but when this instance ran it, call ` +
              `${extra.seq + 1} was ${describeCall(extra.kind, extra.key)}. The workflow's code changed while ` +
              `the instance was running; restart the instance to run it with the new code.`,
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
        const stop = this.stopped();
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
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A guard on this live attempt, not scheduled work: if the object dies, the alarm queue reruns
  // the step anyway. Cleared as soon as the attempt settles, so it never keeps the object awake.
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new StepTimeoutError(name, ms);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => fn({ attempt, signal: controller.signal })), expired]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function describeCall(kind: StepKind, key: string): string {
  const call = { do: "step.do", undo: "the undo", sleep: "step.sleep", wait: "step.waitForEvent" }[kind];
  return `${call} "${key}"`;
}

function parseError(json: string | null): StoredError {
  return json ? (JSON.parse(json) as StoredError) : { name: "Error", message: "unknown" };
}

function isStored(error: unknown): error is StoredError {
  return (
    !(error instanceof Error) && typeof error === "object" && error !== null && "name" in error && "message" in error
  );
}
