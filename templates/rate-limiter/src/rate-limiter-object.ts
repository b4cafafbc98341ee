import {
  CloseCode,
  SqlDurableObject,
  acceptWatcher,
  answerPings,
  closeWebSocket,
  metric,
  migrate,
  publishToWatchers,
  reciprocateClose,
  type DeadLetter,
  type Migration,
  type Task,
} from "./shared";
import { ALGORITHMS, type Decision, type StateColumns } from "./algorithms";
import { keyPrefix } from "./failure";
import { capacity, enforced, type Policy } from "./policy";
import type { Override, Overrides, PolicyQuota, QuotaResult, ServerMessage } from "./protocol";
import type { ShardStanding } from "./sharding";

const migrations: Migration[] = [
  {
    name: "create quota",
    // One row per policy used on this key, holding the policy's numbers and its algorithm's
    // state. WITHOUT ROWID makes the name the table's own key: an update writes one row, where a
    // rowid table with a text key would also write its index entry.
    //
    // `lim` is the policy's limit (LIMIT is an SQL keyword). `a`, `b` and `c` hold the state, as
    // its algorithm's codec in src/algorithms/columns.ts (the only code that reads them by
    // meaning) writes it; `expires` is when that state runs out (epoch ms):
    //
    //   algorithm        a                        b                        c
    //   gcra             TAT, whole µs            its fraction, in ticks   ticks per µs (0: whole µs)
    //   sliding-window   window start, epoch ms   this window's count      the window before's count
    //   fixed-window     window start, epoch ms   its count                0, unused
    //
    // The columns keep these generic names because they are a deployed schema: renaming them is
    // a migration that rewrites every key's rows, for no change in behaviour. One generic shape
    // also keeps one row per policy whatever its algorithm.
    sql: `CREATE TABLE quota (
            name TEXT PRIMARY KEY,
            algorithm TEXT NOT NULL,
            lim INTEGER NOT NULL,
            period INTEGER NOT NULL,
            burst INTEGER,
            a INTEGER NOT NULL,
            b INTEGER NOT NULL,
            c INTEGER NOT NULL,
            expires INTEGER NOT NULL
          ) WITHOUT ROWID`,
  },
];

interface QuotaRow extends Record<string, string | number | null> {
  name: string;
  algorithm: string;
  lim: number;
  period: number;
  burst: number | null;
  a: number;
  b: number;
  c: number;
  expires: number;
}

/**
 * The name of a key's override of a policy is this prefix and the policy's name, a row of the
 * quota table (algorithm `override`, state columns 0, `expires` 0). `~` is in no policy name and
 * sorts after every character one may hold, so `name < '~'` is exactly the state rows: a check
 * reads a policy's row and its override in the same statement, and a key without overrides pays
 * no extra row for them.
 */
const OVERRIDE = "~";

/** A policy as one key enforces it: the configured one, or with the key's override. */
type Effective = Policy & { overridden?: true };

/** The one timed task: purge this key once every policy's state has run out. */
const EXPIRE = "expire";

/** A key's timed work: its purge once all its state has run out. */
type KeyTasks = { [EXPIRE]: (payload: null) => void };

/**
 * How long state is kept past its expiry. A clock that steps back (NTP, another isolate's clock)
 * by up to this much still finds the window or bucket it had counted in: a key purged the moment
 * its window ended would start that window over, empty, after a step back across its end.
 */
export const CLOCK_STEP_GRACE_MS = 60_000;

/**
 * When the expire task finds nothing live it stays scheduled this much later until the purge that
 * `alarm()` runs after it has succeeded (a successful `deleteAll()` deletes it with everything
 * else): a purge that fails is retried by the platform's alarm retries, and after them by this.
 */
export const PURGE_RETRY_MS = 60_000;

/** A dead letter as the API shows it: what failed, how often and why; never its payload. */
export interface DeadLetterSummary {
  id: number;
  name: string;
  attempts: number;
  lastError: string | null;
  /** When it gave up, ISO 8601 (the object's clock). */
  failedAt: string;
}

/** A dead letter moved back into the queue: the task, due now. */
export interface RetriedTask {
  id: number;
  name: string;
  /** When it runs, ISO 8601 (the object's clock): now. */
  due: string;
}

/** The result of retrying a dead letter: the task, or why not. */
export type RetryResult = { ok: true; task: RetriedTask } | { ok: false; reason: "no_such_dead_letter" };

/**
 * The rate limits of one key. Every check reads and writes only the rows of the policies it
 * names, in one synchronous transaction: concurrent checks cannot interleave, so the limit is
 * exact. A key with no quota state holds no storage at all: its tables are created by its first
 * write and deleted, with everything else, when its state has run out.
 */
export class RateLimiter extends SqlDurableObject<Env, KeyTasks> {
  /** The key's prefix for metrics: up to and including its first ':', or "" (never the whole key). */
  private readonly keyPrefix: string;

  /** Whether the quota table exists. Memory is a cache: probed on construction and after a purge. */
  private schema: boolean;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, "rate-limiter");
    this.keyPrefix = keyPrefix(ctx.id.name ?? "");
    this.schema = this.sql.hasTable("quota");
    // A key with state gets new migrations at once; a key without gets its tables with its first write.
    if (this.schema) migrate(ctx.storage, migrations);
    answerPings(ctx);
  }

  /**
   * The queue is built only when a task must be scheduled, or in `alarm()` when its tables exist:
   * a check of a known policy, a peek, a refund, a reset and a socket never touch it.
   */
  protected tasks(): KeyTasks {
    return {
      // Synchronous, so a reschedule commits together with the task's completion. Run out, the
      // task stays scheduled (as a retry) until the purge after the run has succeeded.
      [EXPIRE]: () => {
        const expires = this.live();
        this.queue.schedule(EXPIRE, null, {
          ...(expires !== null ? { at: expires } : { delay: PURGE_RETRY_MS }),
          key: EXPIRE,
        });
      },
    };
  }

  /**
   * Checks `cost` units against every policy at once: admitted only if all admit, and only then
   * consumed. A refused check writes nothing.
   */
  check(policies: Policy[], cost: number): QuotaResult {
    // A refused check is a result, not a refusal of the call: its outcome is "denied". One that
    // a policy in shadow mode would have refused is "shadow_denied".
    return this.log.op(
      "check",
      () => this.decideCheck(policies, cost),
      (result) => (!result.allowed ? "denied" : result.policies.some(shadowDenied) ? "shadow_denied" : "ok"),
    );
  }

  private decideCheck(policies: Policy[], cost: number): QuotaResult {
    // Each policy's own verdict, for the metrics: which policy refused a denied check.
    let admitted: boolean[] = [];
    const result = this.decideAndPublish(policies, (effective, rows, now) => {
      let decisions = effective.map((policy, i) => decide(policy, stateOf(policy, rows[i]!), now, cost));
      admitted = decisions.map((decision) => decision.allowed);
      // A policy in shadow mode is counted, never obeyed.
      const allowed = admitted.every((yes, i) => yes || !enforced(effective[i]!));
      if (allowed && cost > 0) {
        // Each policy that admits consumes; one in shadow that would refuse keeps its state.
        this.store(
          effective.filter((_, i) => admitted[i]),
          rows.filter((_, i) => admitted[i]),
          decisions.filter((_, i) => admitted[i]),
        );
      }
      if (!allowed) {
        // Refused by one policy means consumed by none: report the others as they stand.
        decisions = decisions.map((decision, i) =>
          decision.allowed ? decide(effective[i]!, stateOf(effective[i]!, rows[i]!), now, 0) : decision,
        );
      }
      return { allowed, policies: effective.map((policy, i) => quotaOf(policy, decisions[i]!)) };
    });
    // After the transaction has committed: a rolled-back check writes no point.
    result.policies.forEach((quota, i) => {
      const verdict = admitted[i] ? "allowed" : quota.mode === "shadow" ? "shadow-denied" : "denied";
      metric(this.env, {
        index: "rate-limiter:check",
        blobs: [quota.name, verdict, this.keyPrefix],
        doubles: [cost, quota.remaining],
      });
    });
    return result;
  }

  /** Gives `cost` units back to each policy (a request that turned out not to count). */
  refund(policies: Policy[], cost: number): QuotaResult {
    return this.log.op("refund", () => this.refundNow(policies, cost));
  }

  private refundNow(policies: Policy[], cost: number): QuotaResult {
    return this.decideAndPublish(policies, (effective, rows, now) => {
      // A blocked policy (an override of limit 0) has nothing to give back.
      const decisions = effective.map((policy, i) =>
        policy.limit === 0
          ? blocked(policy)
          : ALGORITHMS[policy.algorithm].refund(policy, stateOf(policy, rows[i]!), now, cost),
      );
      // Nothing stored means nothing consumed: a refund never creates a row.
      const stored = rows.map((row, i) => row !== null && effective[i]!.limit > 0);
      this.store(
        effective.filter((_, i) => stored[i]),
        rows.filter((_, i) => stored[i]),
        decisions.filter((_, i) => stored[i]),
      );
      return { allowed: true, policies: effective.map((policy, i) => quotaOf(policy, decisions[i]!)) };
    });
  }

  /**
   * Reads the clock, then each policy's stored row (null if none) and override, and hands the
   * policies as this key enforces them, their rows and the time to `decide`; its result goes to the
   * watchers and back to the caller.
   *
   * Nothing can run between the read and the write (both synchronous, no await between them). A
   * key whose policies all have their rows writes at most one statement (the multi-row upsert),
   * which is atomic by itself, so it needs no explicit transaction: measured, `transactionSync`
   * was 8% of a check's JavaScript time. A first use also creates the tables and schedules the
   * purge: that goes in one transaction, so none of it can half-happen.
   */
  private decideAndPublish(
    policies: Policy[],
    decide: (effective: Effective[], rows: (QuotaRow | null)[], now: number) => QuotaResult,
  ): QuotaResult {
    const now = this.clock();
    const { effective, rows } = this.loadAll(policies);
    const firstUse = !this.schema || rows.includes(null);
    const result = firstUse ? this.transaction(() => decide(effective, rows, now)) : decide(effective, rows, now);
    this.publish(result.policies);
    return result;
  }

  /**
   * Where each policy stands, consuming nothing. Without `policies`, every policy this key has
   * state for. `retryAfter` is the wait for one unit.
   */
  peek(policies?: Policy[]): QuotaResult {
    return this.log.op("peek", () => this.peekNow(policies));
  }

  private peekNow(policies?: Policy[]): QuotaResult {
    const quotas = this.standingNow(policies).map((standing) => standing.quota);
    return { allowed: quotas.every((quota) => quota.remaining > 0), policies: quotas };
  }

  /**
   * Each policy (as stored, without `policies`) with where it stands: what a peek shows, plus
   * the policy itself, so the Worker can add up the shards of a sharded key.
   */
  standing(policies?: Policy[]): ShardStanding[] {
    return this.log.op("standing", () => this.standingNow(policies));
  }

  private standingNow(policies?: Policy[]): ShardStanding[] {
    const now = this.clock();
    const pairs: [Effective, QuotaRow | null][] = [];
    if (policies) {
      const { effective, rows } = this.loadAll(policies);
      effective.forEach((policy, i) => pairs.push([policy, rows[i]!]));
    } else if (this.schema) {
      const all = this.sql.all<QuotaRow>("SELECT * FROM quota ORDER BY name");
      const overrides = new Map(all.filter(isOverride).map((row) => [row.name.slice(OVERRIDE.length), row]));
      for (const row of all.filter((row) => !isOverride(row))) {
        pairs.push([withOverride(policyOf(row), overrides.get(row.name) ?? null), row]);
      }
    }
    return pairs.map(([policy, row]) => {
      const state = stateOf(policy, row);
      const asItStands = decide(policy, state, now, 0);
      const oneUnit = decide(policy, state, now, 1);
      const quota = { ...quotaOf(policy, asItStands), retryAfter: seconds(oneUnit.retryAfterMs) };
      return { policy, quota };
    });
  }

  /** The key's overrides, policy name to override (empty when it has none). */
  getOverrides(): Overrides {
    return this.log.op("get-overrides", () => this.overridesNow());
  }

  private overridesNow(): Overrides {
    if (!this.schema) return {};
    const rows = this.sql.all<QuotaRow>("SELECT * FROM quota WHERE name >= ? ORDER BY name", OVERRIDE);
    return Object.fromEntries(rows.map((row) => [row.name.slice(OVERRIDE.length), overrideOf(row)]));
  }

  /**
   * Replaces the key's overrides with `overrides` (all of them: a policy left out goes back to its
   * configured limit). Its state is kept: a check under an override counts from where it stands.
   */
  setOverrides(overrides: Overrides): Overrides {
    return this.log.op("set-overrides", () => {
      this.transaction(() => {
        if (!this.schema) {
          migrate(this.ctx.storage, migrations);
          this.schema = true;
        }
        this.sql.run("DELETE FROM quota WHERE name >= ?", OVERRIDE);
        for (const [name, { limit, period, burst }] of Object.entries(overrides)) {
          this.sql.run(
            `INSERT INTO quota (name, algorithm, lim, period, burst, a, b, c, expires) VALUES (?, 'override', ?, ?, ?, 0, 0, 0, 0)`,
            OVERRIDE + name,
            limit,
            period,
            burst ?? null,
          );
        }
      });
      return this.overridesNow();
    });
  }

  /**
   * Removes the key's overrides: its configured policies apply again. A key left with no live
   * state is purged at once, so it holds no storage.
   */
  deleteOverrides(): Promise<void> {
    return this.log.op("delete-overrides", async () => {
      if (!this.schema) return;
      this.sql.run("DELETE FROM quota WHERE name >= ?", OVERRIDE);
      if (this.live() === null) await this.purge();
    });
  }

  /** Forgets every policy's state (and any pending alarm): the key starts over. Overrides stay. */
  reset(): Promise<void> {
    return this.log.op("reset", async () => {
      await this.purge();
      this.publish([]);
    });
  }

  /**
   * The dead letters of this key's alarm queue, oldest first (at most 100): what failed, how often
   * and why, never the payload. A key whose queue was never created has none, and gets no tables.
   */
  deadLetters(): DeadLetterSummary[] {
    return this.log.op("dead-letters", () =>
      this.hasQueue() ? this.queue.listDeadLetters({ limit: 100 }).items.map(toSummary) : [],
    );
  }

  /** Moves dead letter `id` back into the queue, due now with its attempts reset. */
  retryDeadLetter(id: number): RetryResult {
    return this.log.op("retry-dead-letter", (): RetryResult => {
      const task = this.hasQueue() ? this.queue.retryDeadLetter(id) : null;
      return task ? { ok: true, task: toRetried(task) } : { ok: false, reason: "no_such_dead_letter" };
    });
  }

  /**
   * All timed work runs through the shared alarm queue, the only code that sets the alarm. After
   * the run, a key with nothing live is purged, whatever made the alarm fire: the expire task, or
   * the platform retrying an invocation whose purge failed. The expire task stays scheduled until
   * the purge has succeeded, so a failed purge is retried even after the platform gives up.
   */
  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    // Nothing was ever scheduled here (or it was purged): nothing to run, and nothing to purge.
    if (!this.hasQueue()) return;
    await super.alarm(info);
    // Checked synchronously right before the purge: nothing live may be deleted.
    if (this.live() === null) await this.purge();
  }

  /** Only WebSocket upgrades arrive here (the Worker has checked the token); the rest is RPC. */
  override async fetch(): Promise<Response> {
    return acceptWatcher(this.ctx, { type: "quota", policies: this.peekNow().policies } satisfies ServerMessage);
  }

  /** Watchers only listen: anything they send (but the `ping` heartbeat) is a protocol error. */
  override async webSocketMessage(ws: WebSocket): Promise<void> {
    closeWebSocket(ws, CloseCode.unsupported, "this socket only sends quota updates; send nothing but 'ping'");
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    reciprocateClose(ws, code, reason);
  }

  /**
   * Deletes everything, tables and alarm included (compatibility date >= 2026-02-24). The tables
   * come back with the next write, not before: a key without state holds nothing. A key that
   * holds nothing is not touched. Sockets are not storage: watchers stay connected.
   *
   * A key with overrides keeps them (a blocked abuser stays blocked however long it stays away):
   * only its state rows and its expire task go, in one transaction.
   */
  private async purge(): Promise<void> {
    if (!this.schema && !this.hasQueue()) return;
    if (this.schema && this.sql.one("SELECT 1 AS found FROM quota WHERE name >= ? LIMIT 1", OVERRIDE)) {
      this.transaction(() => {
        this.sql.run("DELETE FROM quota WHERE name < ?", OVERRIDE);
        if (this.hasQueue()) this.queue.cancel({ key: EXPIRE });
      });
      return;
    }
    await this.ctx.storage.deleteAll();
    this.forgetQueue();
    // Probed, not assumed: a write that got in while deleteAll() was pending must not be ignored.
    this.schema = this.sql.hasTable("quota");
  }

  /**
   * Until when this key's state must be kept: its last expiry plus {@link CLOCK_STEP_GRACE_MS},
   * or `null` once that has passed (or there is no state).
   */
  private live(): number | null {
    if (!this.schema) return null;
    // Override rows expire at 0: they keep nothing alive.
    const expires = this.sql.one<{ expires: number | null }>("SELECT max(expires) AS expires FROM quota")?.expires;
    if (expires === null || expires === undefined) return null;
    const keep = expires + CLOCK_STEP_GRACE_MS;
    return keep > this.clock() ? keep : null;
  }

  /**
   * Each policy as this key enforces it (with its override, if any) and its row (null if none),
   * in the policies' order, read with one statement. No table, no row: a key never written reads
   * nothing (and creates nothing).
   */
  private loadAll(policies: Policy[]): { effective: Effective[]; rows: (QuotaRow | null)[] } {
    if (!this.schema) return { effective: policies, rows: policies.map(() => null) };
    const names = policies.flatMap((policy) => [policy.name, OVERRIDE + policy.name]);
    // One seek per name, joined from a VALUES list: it reads exactly the rows it finds (a policy
    // without an override pays nothing for the look), where `name IN (...)` reads one row more
    // than it finds, and a UNION ALL of seeks is refused past 5 terms (SQLite's compound-SELECT
    // limit in workerd), which a check of 3 policies and their overrides already passes. Measured.
    const found = this.sql.all<QuotaRow>(
      `WITH wanted(name) AS (VALUES ${names.map(() => "(?)").join(", ")})
       SELECT quota.* FROM wanted JOIN quota ON quota.name = wanted.name`,
      ...names,
    );
    const row = (name: string) => found.find((r) => r.name === name) ?? null;
    return {
      effective: policies.map((policy) => withOverride(policy, row(OVERRIDE + policy.name))),
      rows: policies.map((policy) => row(policy.name)),
    };
  }

  /**
   * One transaction. The tables and the queue may be created inside it (a key's first write); if
   * it rolls back, so does their creation, and memory must not claim otherwise.
   */
  protected override transaction<T>(fn: () => T): T {
    const schema = this.schema;
    try {
      return super.transaction(fn);
    } catch (error) {
      this.schema = schema;
      throw error;
    }
  }

  /**
   * Writes the new state of each policy. A policy's first row also (re)schedules the purge for
   * when all state has run out; later checks write only their own rows: when the alarm fires
   * it finds live state and moves itself to the latest expiry.
   */
  private store(policies: Policy[], rows: (QuotaRow | null)[], decisions: Decision<StateColumns>[]): void {
    if (policies.length === 0) return;
    if (!this.schema) {
      migrate(this.ctx.storage, migrations);
      this.schema = true;
    }
    // One statement for every policy (9 values each: 10 policies stay under the 100 bound
    // parameters a statement may have): one call into SQLite instead of one per policy.
    let firstUse = 0;
    const values = policies.flatMap((policy, i) => {
      const { state: columns, expiresAt } = decisions[i]!;
      if (rows[i] === null) firstUse = Math.max(firstUse, expiresAt);
      const { name, algorithm, limit, period, burst } = policy;
      return [name, algorithm, limit, period, burst ?? null, columns.a, columns.b, columns.c, expiresAt];
    });
    this.sql.run(
      `INSERT INTO quota (name, algorithm, lim, period, burst, a, b, c, expires)
       VALUES ${policies.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}
       ON CONFLICT (name) DO UPDATE SET algorithm = excluded.algorithm, lim = excluded.lim, period = excluded.period,
         burst = excluded.burst, a = excluded.a, b = excluded.b, c = excluded.c, expires = excluded.expires`,
      ...values,
    );
    if (firstUse > 0) this.queue.schedule(EXPIRE, null, { at: firstUse + CLOCK_STEP_GRACE_MS, key: EXPIRE });
  }

  private publish(policies: PolicyQuota[]): void {
    publishToWatchers(this.ctx, () => ({ type: "quota", policies }) satisfies ServerMessage);
  }
}

function toSummary(letter: DeadLetter): DeadLetterSummary {
  const { id, name, attempts, lastError, failedAt } = letter;
  return { id, name, attempts, lastError, failedAt: new Date(failedAt).toISOString() };
}

function toRetried(task: Task): RetriedTask {
  return { id: task.id, name: task.name, due: new Date(task.due).toISOString() };
}

/** A row's state columns, or none when there is no row or it was written by another algorithm. */
function stateOf(policy: Policy, row: QuotaRow | null): StateColumns | null {
  return row && row.algorithm === policy.algorithm ? row : null;
}

function policyOf(row: QuotaRow): Policy {
  const policy: Policy = {
    name: row.name,
    algorithm: row.algorithm as Policy["algorithm"],
    limit: row.lim,
    period: row.period,
  };
  if (row.burst !== null) policy.burst = row.burst;
  return policy;
}

/** Whole seconds, rounded up: a client that waits this long is never early. */
function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

function quotaOf(policy: Effective, decision: Decision<StateColumns>): PolicyQuota {
  const quota: PolicyQuota = {
    name: policy.name,
    algorithm: policy.algorithm,
    limit: policy.limit,
    period: policy.period,
    remaining: decision.remaining,
    reset: seconds(decision.resetMs),
    retryAfter: seconds(decision.retryAfterMs),
  };
  if (policy.mode === "shadow") quota.mode = "shadow";
  if (policy.overridden) quota.overridden = true;
  return quota;
}

/** A policy in shadow mode that refused: the request was let through anyway. */
function shadowDenied(quota: PolicyQuota): boolean {
  return quota.mode === "shadow" && quota.retryAfter > 0;
}

function isOverride(row: QuotaRow): boolean {
  return row.name.startsWith(OVERRIDE);
}

function overrideOf(row: QuotaRow): Override {
  const override: Override = { limit: row.lim, period: row.period };
  if (row.burst !== null) override.burst = row.burst;
  return override;
}

/** `policy` with the key's override row applied: its algorithm and mode, the override's numbers. */
function withOverride(policy: Policy, row: QuotaRow | null): Effective {
  if (!row) return policy;
  const { limit, period, burst } = overrideOf(row);
  const effective: Effective = { ...policy, limit, period, overridden: true };
  if (policy.algorithm === "gcra") effective.burst = burst ?? Math.max(1, limit);
  else delete effective.burst;
  return effective;
}

/**
 * A policy that admits nothing: blocked by an override of limit 0. It asks for a period's wait
 * (and is asked again then); its state is never stored.
 */
function blocked(policy: Effective): Decision<StateColumns> {
  return {
    allowed: false,
    state: { a: 0, b: 0, c: 0 },
    remaining: 0,
    resetMs: 0,
    retryAfterMs: policy.period * 1000,
    expiresAt: 0,
  };
}

/**
 * The policy's algorithm's decision, for any policy a key may enforce: blocked by an override of
 * limit 0, or asked for more than an override lets it ever grant (refused with a period's wait;
 * the Worker refuses such a cost up front only against the configured policy).
 */
function decide(policy: Effective, state: StateColumns | null, now: number, cost: number): Decision<StateColumns> {
  if (policy.limit === 0) return blocked(policy);
  const algorithm = ALGORITHMS[policy.algorithm];
  if (cost <= capacity(policy)) return algorithm.check(policy, state, now, cost);
  return { ...algorithm.check(policy, state, now, 0), allowed: false, retryAfterMs: policy.period * 1000 };
}
