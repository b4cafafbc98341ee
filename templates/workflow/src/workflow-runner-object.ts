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
  type QueueOptions,
  type RunningTask,
  type SqlValue,
} from "./shared";
import {
  ACTIVE_STATUSES,
  isActive,
  isFinal,
  MAX_LISTED_PAYLOAD_BYTES,
  MAX_PENDING_EVENTS,
  type EventPage,
  type InstanceError,
  type InstanceStatus,
  type InstanceView,
  type JsonValue,
  type PendingEvent,
  type ServerMessage,
  type StepCall,
  type StepView,
} from "./protocol";
import {
  DEFAULT_RUN_BUDGET,
  DEFAULT_STEP_TIMEOUT_MS,
  Replay,
  type ReplayHost,
  type RunBudget,
  type StepRow,
} from "./engine/replay";
import type { WorkflowRegistry } from "./engine/define";
import type { IndexUpdate } from "./workflow-index-object";
import type { CreateResult, EventResult, LifecycleResult, Refusal } from "./rpc";
import { decodeJson } from "./engine/step-output";

const migrations: Migration[] = [
  {
    name: "create workflow tables",
    // One row for the instance (the object *is* the instance). Steps are stored by the order in
    // which they first started, the rowid, and matched to calls by `key` in memory (the replay reads
    // them all once per run): no secondary index, so each step write is one row written. Events
    // not yet consumed are found through a partial index that holds only those.
    sql: `CREATE TABLE instance (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            instance_id TEXT NOT NULL,
            workflow TEXT NOT NULL,
            params TEXT,
            status TEXT NOT NULL,
            output TEXT,
            error TEXT,
            generation INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
          );
          CREATE TABLE steps (
            seq INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            started_at INTEGER NOT NULL,
            finished_at INTEGER,
            wake_at INTEGER,
            output TEXT,
            output_bytes INTEGER,
            error TEXT
          );
          CREATE TABLE step_chunks (
            seq INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (seq, idx)
          ) WITHOUT ROWID;
          CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            type TEXT NOT NULL,
            payload TEXT,
            received_at INTEGER NOT NULL,
            consumed_by INTEGER
          );
          CREATE INDEX events_pending ON events (type, id) WHERE consumed_by IS NULL;`,
  },
  {
    name: "event idempotency keys and wait types",
    // An event sent with an idempotency key keeps it, and the instance status it was answered
    // with, so a repeat answers like the first; the unique index holds keyed events only, so an
    // event without a key costs no more than before. A waiting step keeps the event type it waits
    // for, so an event it needs is accepted even when its type's backlog is full.
    sql: `ALTER TABLE events ADD COLUMN idempotency_key TEXT;
          ALTER TABLE events ADD COLUMN answered_status TEXT;
          CREATE UNIQUE INDEX events_by_key ON events (idempotency_key) WHERE idempotency_key IS NOT NULL;
          ALTER TABLE steps ADD COLUMN wait_type TEXT;`,
  },
  {
    name: "index incarnation and version",
    // What the workflow's index (WorkflowIndex) needs to apply this instance's updates in order:
    // a random incarnation per creation of the id (a deleted and re-created instance is another),
    // and a version that grows with each status change, in the same statement as the change.
    // Instances created before this step get an incarnation here and are indexed at their next change.
    sql: `ALTER TABLE instance ADD COLUMN incarnation TEXT NOT NULL DEFAULT '';
          ALTER TABLE instance ADD COLUMN index_version INTEGER NOT NULL DEFAULT 0;
          UPDATE instance SET incarnation = lower(hex(randomblob(16)));`,
  },
  {
    name: "concurrency slot ticket",
    // Raised at each request for a concurrency slot and each release (workflows with a limit only):
    // the coordinator frees only what an older request got, so a late release frees nothing newer.
    sql: `ALTER TABLE instance ADD COLUMN slot_ticket INTEGER NOT NULL DEFAULT 0;`,
  },
];

interface PendingEventRow extends Record<string, SqlValue> {
  id: number;
  type: string;
  payload: string | null;
  bytes: number | null;
  received_at: number;
  idempotency_key: string | null;
}

interface InstanceRow extends Record<string, string | number | null> {
  instance_id: string;
  workflow: string;
  params: string | null;
  status: InstanceStatus;
  output: string | null;
  error: string | null;
  generation: number;
  created_at: number;
  updated_at: number;
  incarnation: string;
  index_version: number;
  slot_ticket: number;
}

export type { CreateResult, EventResult, LifecycleResult, Refusal } from "./rpc";

/** Statuses from which an action is allowed. Everything else is a 409. */
const ALLOWED_FROM: Record<"pause" | "resume" | "terminate" | "event", readonly InstanceStatus[]> = {
  pause: ACTIVE_STATUSES,
  resume: ["paused"],
  terminate: [...ACTIVE_STATUSES, "paused"],
  event: [...ACTIVE_STATUSES, "paused"],
};

/**
 * Attempts of the tasks that reach the index (`index`, `expire`) before they would be
 * dead-lettered: in effect never (retries back off to once an hour), so no status change or
 * deletion is lost while the index object is unreachable.
 */
const INDEX_MAX_ATTEMPTS = 1_000_000;

/** `ACTIVE_STATUSES` as an SQL list. */
const ACTIVE_SQL = ACTIVE_STATUSES.map((status) => `'${status}'`).join(", ");

/** `consumed_by` of a deleted event (its row stays, so its id is never reused): no step's seq. */
const DELETED = -1;

/** Outputs larger than this are left out of `describe()`; `outputBytes` still tells the size. */
const MAX_VIEW_OUTPUT_BYTES = 64 * 1024;

/** An instance's timed work: its runs, its index updates, its retention, its slot's release. */
type RunnerTasks = {
  run: (payload: { generation: number }, task: RunningTask) => Promise<void>;
  index: () => Promise<void>;
  expire: (payload: { version: number }) => Promise<void>;
  release: (payload: { ticket: number }) => Promise<void>;
};

/**
 * One workflow instance. Every run of the workflow is a task of the shared alarm queue ("run",
 * key "run"), so a run that dies with the object is delivered again; the replay skips completed
 * steps. Sleeps, event timeouts and retry delays are the same task scheduled later.
 *
 * Abstract only in which workflows it runs: the Worker entry exports a one-line subclass that names
 * them (src/index.ts the shipped ones; the tests' entry, test/worker.ts, those and its own), so no
 * module holds a registry that anyone patches.
 */
export abstract class WorkflowRunner extends SqlDurableObject<Env, RunnerTasks> {
  /** The workflows this object runs, by name: set by the subclass the Worker entry exports. */
  protected abstract readonly workflows: WorkflowRegistry;

  /** How many times a run waited for its writes to be durable (`storage.sync()`): tests read it. */
  commits = 0;

  /** Uniform random in [0, 1) for retry jitter. Tests fix it. */
  random: () => number = Math.random;

  /** How much one run does before it yields to the next alarm. Tests make it small. */
  runBudget: RunBudget = DEFAULT_RUN_BUDGET;

  // An event or resume arrived while a run was in progress: when that run suspends it must wake
  // again at once instead of at its own time (the event may be what a wait it just left wants).
  // eslint-disable-next-line durable/no-memory-only-state -- a hint, safe to lose: a crash ends the run, and its retry replays with the event stored
  private wakeRequested = false;
  // cache: the instance row's status and generation as the run last read them, so a step asks
  // SQLite once per run instead of twice per step whether it may start and whether its result may
  // be stored. Every statement that writes the instance row clears it (the next check reads SQLite
  // again), and a crash or eviction clears it together with the run that relies on it.
  private runState?: { status: string; generation: number } | null;
  /**
   * Whether the app's tables exist. An id with no instance holds no storage at all: its tables are
   * created by its `create` and deleted, with everything else, when the instance is deleted, so a
   * read of an unknown id (a GET, an event, a WebSocket refused with a 404) writes nothing. Memory
   * is a cache: probed on construction and set again by `create` and `purge`.
   */
  private schema: boolean;

  constructor(ctx: DurableObjectState, env: Env) {
    // Its log lines never carry params, payloads or outputs.
    super(ctx, env, "workflow");
    this.schema = this.sql.hasTable("instance");
    // An instance gets new migrations at once; an id without one gets its tables with its create.
    if (this.schema) migrate(ctx.storage, migrations);
    answerPings(ctx);
  }

  protected tasks(): RunnerTasks {
    return {
      // Asynchronous (steps do I/O), so at-least-once: a run that dies is run again, and the
      // replay makes that safe.
      run: (payload, task) => this.runInstance(payload.generation, task.signal),
      // Asynchronous (an RPC), so at-least-once: it sends the row as it is when it runs, and the
      // index applies a version once, so a repeat or a late delivery changes nothing.
      index: () => this.sendToIndex(),
      // The retention of a finished instance has passed: delete it, as DELETE does.
      expire: (payload) => this.expire(payload.version),
      // The run suspended or ended, or the instance was paused or terminated: its concurrency
      // slot (or its place in the waitlist) goes back. At least once; the ticket makes it idempotent.
      release: (payload) => this.sendRelease(payload.ticket),
    };
  }

  protected override queueOptions(): QueueOptions<RunnerTasks> {
    return {
      random: () => this.random(),
      // A run starts step attempts for its budget's time (60 s), and the last one runs for up to the
      // longest step timeout (10 minutes): with a minute of margin, and with the queue's 10 s time
      // budget, still under the 15 minutes an alarm invocation may run.
      handlerTimeouts: { run: DEFAULT_RUN_BUDGET.ms + DEFAULT_STEP_TIMEOUT_MS + 60_000 },
      // A run that crashes the object is counted on each platform retry. Steps count their own
      // attempts (6 by default) and fail the instance properly, undos included, so the queue's
      // limit sits above theirs; it decides only for what no step counts (a crash between steps).
      maxAttempts: 10,
      onDeadLetter: (letter) => {
        this.log.deadLetter(letter);
        if (letter.name === "run") this.abandon(letter);
      },
    };
  }

  /**
   * Creates the instance and queues its first run, and its first index update. An id already
   * taken is refused, or, with `onConflict: "return"` and the same workflow, answered with the
   * instance that holds it (nothing written).
   */
  create(
    input: { id: string; workflow: string; params: unknown },
    options: { onConflict?: "error" | "return" } = {},
  ): CreateResult {
    return this.log.op("create", (): CreateResult => {
      if (!this.schema) {
        migrate(this.ctx.storage, migrations);
        this.schema = true;
      }
      const existing = this.row();
      if (existing) {
        if (options.onConflict === "return" && existing.workflow === input.workflow) {
          return { ok: true, instance: { id: existing.instance_id, status: existing.status }, created: false };
        }
        return { ok: false, reason: "exists" };
      }
      const now = this.clock();
      this.transaction(() => {
        this.sql.run(
          `INSERT INTO instance (id, instance_id, workflow, params, status, generation, created_at, updated_at, incarnation, index_version)
           VALUES (1, ?, ?, ?, 'queued', 1, ?, ?, ?, 1)`,
          input.id,
          input.workflow,
          input.params === undefined ? null : JSON.stringify(input.params),
          now,
          now,
          crypto.randomUUID(),
        );
        this.runState = undefined;
        // The index task first: when both are due, the index learns of the instance before it runs.
        this.indexLater();
        this.wake(1, now);
      });
      return { ok: true, instance: { id: input.id, status: "queued" }, created: true };
    });
  }

  /**
   * Deletes a finished instance (complete, errored or terminated): its index entry, then every row
   * and the alarm (`deleteAll()`). Any other status is refused; nothing is deleted then.
   */
  async delete(): Promise<{ ok: true } | Refusal> {
    return this.log.op("delete", async (): Promise<{ ok: true } | Refusal> => {
      const row = this.row();
      if (!row) return { ok: false, reason: "not_found" };
      if (!isFinal(row.status))
        return { ok: false, reason: "illegal_transition", status: row.status, action: "delete" };
      try {
        await this.purge(row);
      } catch {
        return { ok: false, reason: "index_unavailable" };
      }
      return { ok: true };
    });
  }

  /**
   * The workflow's coordinator gave this queued instance a concurrency slot: its run is due now.
   * An instance that no longer waits for one (paused, terminated meanwhile) gives it back.
   */
  slotGranted(): void {
    this.log.op("slot-granted", () => {
      const row = this.row();
      if (!row) return;
      this.transaction(() => {
        if (row.status === "queued") this.wake(row.generation, this.clock());
        else this.releaseLater(row.workflow);
      });
      this.wakeRequested = true;
    });
  }

  /** The instance with every step, or null when none was created here. */
  describe(): InstanceView | null {
    return this.log.op("describe", () => {
      const row = this.row();
      if (!row) return null;
      const steps = this.sql.all<StepRow>("SELECT * FROM steps ORDER BY seq").map(toStepView);
      return {
        id: row.instance_id,
        workflow: row.workflow,
        status: row.status,
        params: (decodeJson(row.params) ?? null) as JsonValue,
        output: (decodeJson(row.output) ?? null) as JsonValue,
        error: row.error ? (JSON.parse(row.error) as InstanceError) : null,
        createdAt: iso(row.created_at),
        updatedAt: iso(row.updated_at),
        steps,
      };
    });
  }

  /**
   * Stores an event; a waiting instance runs at once to look at it. With an `idempotencyKey` that
   * an earlier event of this instance had, stores nothing and answers as that event was answered
   * (or refuses, when the type or payload differ).
   */
  sendEvent(type: string, payload: unknown, options: { idempotencyKey?: string } = {}): EventResult {
    return this.log.op("event", () => {
      const row = this.row();
      if (!row) return { ok: false, reason: "not_found" };
      const json = payload === undefined ? null : JSON.stringify(payload);
      const key = options.idempotencyKey ?? null;
      if (key !== null) {
        // Before any status check: a retry after the instance moved on still gets the first answer.
        const earlier = this.sql.one<{
          id: number;
          type: string;
          payload: string | null;
          answered_status: InstanceStatus;
        }>("SELECT id, type, payload, answered_status FROM events WHERE idempotency_key = ?", key);
        if (earlier) {
          if (earlier.type !== type || earlier.payload !== json)
            return { ok: false, reason: "idempotency_key_reused", key };
          return { ok: true, instance: { id: row.instance_id, status: earlier.answered_status }, eventId: earlier.id };
        }
      }
      if (!ALLOWED_FROM.event.includes(row.status)) {
        return { ok: false, reason: "illegal_transition", status: row.status, action: "event" };
      }
      // Per type, bounded: reads at most MAX_PENDING_EVENTS entries of the partial index, of this type.
      const pending = this.sql.one<{ n: number }>(
        "SELECT count(*) AS n FROM (SELECT 1 FROM events WHERE consumed_by IS NULL AND type = ? LIMIT ?)",
        type,
        MAX_PENDING_EVENTS,
      )!.n;
      // A full backlog still takes the event a waiting wait needs. Only then are the steps read
      // (no index: waiting steps are few, and a full backlog is rare).
      if (
        pending >= MAX_PENDING_EVENTS &&
        !this.sql.one("SELECT 1 FROM steps WHERE kind = 'wait' AND status = 'waiting' AND wait_type = ? LIMIT 1", type)
      ) {
        return { ok: false, reason: "too_many_events", type, limit: MAX_PENDING_EVENTS };
      }
      const now = this.clock();
      const eventId = this.transaction(() => {
        this.sql.run(
          "INSERT INTO events (type, payload, received_at, idempotency_key, answered_status) VALUES (?, ?, ?, ?, ?)",
          type,
          json,
          now,
          key,
          key === null ? null : row.status,
        );
        // Not `RETURNING id`: that is metered as one more row read; this reads none.
        const { id } = this.sql.one<{ id: number }>("SELECT last_insert_rowid() AS id")!;
        if (row.status === "waiting") this.wake(row.generation, now);
        return id;
      });
      this.wakeRequested = true;
      return { ok: true, instance: { id: row.instance_id, status: row.status }, eventId };
    });
  }

  /**
   * Pending events (not consumed by a wait, not deleted), grouped by type and in order of receipt
   * within each, `limit` at a time after the cursor `after`. Each page reads its own rows through
   * the pending events' index, plus one to know whether there is a next page.
   */
  listEvents(options: { type?: string; after?: string; limit?: number } = {}): { ok: true; page: EventPage } | Refusal {
    return this.log.op("list-events", () => {
      if (!this.row()) return { ok: false, reason: "not_found" };
      const limit = options.limit ?? 50;
      const [afterType, afterId] = options.after ? splitCursor(options.after) : [options.type ?? "", 0];
      // Two index ranges, each read exactly (a row-value `(type, id) > (?, ?)` would also read the
      // cursor type's entries before the cursor): the rest of the cursor's type, then the later types.
      const page = (where: string, ...bindings: SqlValue[]) =>
        this.sql.all<PendingEventRow>(
          `SELECT id, type, CASE WHEN length(CAST(payload AS BLOB)) <= ? THEN payload END AS payload,
                  length(CAST(payload AS BLOB)) AS bytes, received_at, idempotency_key
           FROM events WHERE consumed_by IS NULL AND ${where} ORDER BY type, id LIMIT ?`,
          MAX_LISTED_PAYLOAD_BYTES,
          ...bindings,
        );
      // No type is "": a first page without a type filter starts at the later types.
      const rows =
        afterType !== "" && (options.type === undefined || options.type === afterType)
          ? page("type = ? AND id > ?", afterType, afterId, limit + 1)
          : [];
      if (options.type === undefined && rows.length <= limit) {
        rows.push(...page("type > ?", afterType, limit + 1 - rows.length));
      }
      const events = rows.slice(0, limit).map((row) => {
        const event: PendingEvent = {
          id: row.id,
          type: row.type,
          payloadBytes: row.bytes ?? 0,
          receivedAt: iso(row.received_at),
          idempotencyKey: row.idempotency_key,
        };
        if ((row.bytes ?? 0) <= MAX_LISTED_PAYLOAD_BYTES)
          event.payload = (decodeJson(row.payload) ?? null) as JsonValue;
        return event;
      });
      const last = events.at(-1);
      return { ok: true, page: { events, next: rows.length > limit && last ? `${last.type}~${last.id}` : null } };
    });
  }

  /**
   * Deletes a pending event: no wait will receive it, and a restart does not bring it back. Its row
   * stays, marked deleted, so its id is never given to a later event (SQLite reuses the largest
   * rowid of a removed row, and a retried DELETE of it would then delete another event). An event
   * sent with an idempotency key keeps its payload too, so a retry of its send still answers like
   * the first instead of storing it again; any other event's payload is dropped.
   */
  deleteEvent(eventId: number): { ok: true } | Refusal {
    return this.log.op("delete-event", () => {
      if (!this.row()) return { ok: false, reason: "not_found" };
      const event = this.sql.one<{ keyed: number }>(
        "SELECT idempotency_key IS NOT NULL AS keyed FROM events WHERE id = ? AND consumed_by IS NULL",
        eventId,
      );
      if (!event) return { ok: false, reason: "no_such_event", eventId };
      if (event.keyed) this.sql.run("UPDATE events SET consumed_by = ? WHERE id = ?", DELETED, eventId);
      else this.sql.run("UPDATE events SET consumed_by = ?, payload = NULL WHERE id = ?", DELETED, eventId);
      return { ok: true };
    });
  }

  /** Stops the instance after the step in progress; nothing more starts until `resume`. */
  pause(): LifecycleResult {
    return this.log.op("pause", () => this.transition("pause", "paused", () => this.queue.cancel({ key: "run" })));
  }

  /** Queues a paused instance to run again from where it stopped. */
  resume(): LifecycleResult {
    return this.log.op("resume", () => {
      return this.transition("resume", "queued", (row) => {
        this.wake(row.generation, this.clock());
        this.wakeRequested = true;
      });
    });
  }

  /** Ends the instance for good (no undos run); `restart` is the only way back. */
  terminate(): LifecycleResult {
    return this.log.op("terminate", () =>
      this.transition("terminate", "terminated", () => this.queue.cancel({ key: "run" })),
    );
  }

  /**
   * Runs the instance again from step `from` (a name: its first call; `{ name, count }`: its
   * count-th call, key `name#count`), or from the top: that step and every step that started after
   * it are forgotten, events they consumed are pending again. Allowed from any status.
   */
  restart(from?: string | StepCall): LifecycleResult {
    return this.log.op("restart", () => {
      const row = this.row();
      if (!row) return { ok: false, reason: "not_found" };
      let fromSeq = 0;
      if (from !== undefined) {
        const { name, count } = typeof from === "string" ? { name: from, count: 1 } : from;
        const step =
          typeof from === "string"
            ? this.sql.one<{ seq: number }>("SELECT seq FROM steps WHERE name = ? ORDER BY seq LIMIT 1", name)
            : this.sql.one<{ seq: number }>("SELECT seq FROM steps WHERE key = ?", `${name}#${count}`);
        if (!step) {
          const { calls } = this.sql.one<{ calls: number }>(
            "SELECT count(*) AS calls FROM steps WHERE name = ?",
            name,
          )!;
          return { ok: false, reason: "no_such_step", step: name, count, calls };
        }
        fromSeq = step.seq;
      }
      const now = this.clock();
      const generation = row.generation + 1; // results of a run still in flight are void from here
      this.transaction(() => {
        this.sql.run("DELETE FROM steps WHERE seq >= ?", fromSeq);
        this.sql.run("DELETE FROM step_chunks WHERE seq >= ?", fromSeq);
        this.sql.run("UPDATE events SET consumed_by = NULL WHERE consumed_by >= ?", fromSeq);
        this.sql.run(
          `UPDATE instance SET status = 'queued', output = NULL, error = NULL, generation = ?, updated_at = ?,
             index_version = index_version + 1 WHERE id = 1`,
          generation,
          now,
        );
        this.runState = undefined;
        this.indexLater(); // before the run task: when both are due, the index hears of `queued` first
        this.wake(generation, now);
        // No longer finished: its retention no longer runs.
        if (isFinal(row.status)) this.queue.cancel({ key: "expire" });
      });
      this.wakeRequested = true;
      this.publishStatus(row.instance_id, "queued");
      return { ok: true, instance: { id: row.instance_id, status: "queued" } };
    });
  }

  /**
   * Only WebSocket upgrades arrive here (live progress); everything else is RPC. An id with no
   * instance is refused before the upgrade, with a bare 404 (no body, nothing stored) that the
   * Worker, the only caller, answers with its `no-such-instance` problem.
   */
  override async fetch(): Promise<Response> {
    const row = this.row();
    if (!row) return new Response(null, { status: 404 });
    return acceptWatcher(this.ctx, { type: "status", id: row.instance_id, status: row.status } satisfies ServerMessage);
  }

  /** Watchers only listen ("ping" is answered by the runtime without waking the object). */
  override async webSocketMessage(ws: WebSocket): Promise<void> {
    closeWebSocket(ws, CloseCode.unsupported, "This socket only sends progress; use the HTTP API to act.");
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    reciprocateClose(ws, code, reason);
  }

  /**
   * One run: replays the workflow until it completes, fails or suspends. `signal` is aborted when
   * the queue gives up on the run (its handler timeout): the queue has already scheduled the retry,
   * so this run starts no new step beside it.
   */
  private async runInstance(generation: number, signal?: AbortSignal): Promise<void> {
    const workflow = await this.play(generation, signal);
    // A limited workflow's instance paused or terminated while it ran (its step in progress
    // finished first; the pause did not give the slot back then), or whose run is retried after a
    // crash in that state: the slot goes back now.
    if (workflow === undefined || !this.workflows.get(workflow)?.concurrency) return;
    const row = this.row();
    if (row?.status === "paused" || row?.status === "terminated") this.transaction(() => this.releaseLater(workflow));
  }

  /** The run itself; returns the instance's workflow (when there is an instance). */
  private async play(generation: number, signal?: AbortSignal): Promise<string | undefined> {
    let row = this.row();
    if (!row || row.generation !== generation || !isActive(row.status)) return row?.workflow;
    this.wakeRequested = false;
    const workflow = this.workflows.get(row.workflow);
    if (!workflow) {
      this.settle(row, generation, "errored", {
        error: { name: "UnknownWorkflowError", message: `No workflow "${row.workflow}" is registered any more.` },
      });
      return row.workflow;
    }
    if (workflow.concurrency) {
      // A slot first (renewed when the instance holds one). Without one, the instance stays
      // queued, and the coordinator wakes it in creation order as slots free.
      const limit = workflow.concurrency.limit;
      const asked = row;
      const { slot_ticket: ticket } = this.sql.one<{ slot_ticket: number }>(
        "UPDATE instance SET slot_ticket = slot_ticket + 1 WHERE id = 1 RETURNING slot_ticket",
      )!;
      this.runState = undefined;
      const granted = await this.env.WORKFLOW_COORDINATOR.getByName(asked.workflow).acquire({
        id: asked.instance_id,
        incarnation: asked.incarnation,
        ticket,
        createdAt: asked.created_at,
        limit,
      });
      row = this.row();
      if (!row || row.generation !== generation || !isActive(row.status)) {
        // Paused, terminated or restarted meanwhile: see runInstance for the slot.
        return asked.workflow;
      }
      if (!granted) {
        if (row.status !== "queued") this.moveTo(row, "queued");
        return row.workflow;
      }
    }
    if (row.status !== "running") this.moveTo(row, "running");
    const replay = new Replay(this.host(row.workflow, signal), generation);
    const outcome = await replay.play(workflow, decodeJson(row.params), {
      instanceId: row.instance_id,
      env: this.env,
    });
    switch (outcome.kind) {
      case "interrupted":
        return row.workflow;
      case "complete":
        this.settle(row, generation, "complete", { output: outcome.output });
        return row.workflow;
      case "errored":
        this.settle(row, generation, "errored", { error: outcome.error });
        return row.workflow;
      case "suspended":
        if (outcome.yielded) {
          // Not waiting for anything: the run used its budget and the next alarm goes on.
          this.transaction(() => {
            const current = this.row();
            if (current?.generation === generation && current.status === "running") this.wake(generation, this.clock());
          });
          return row.workflow;
        }
        this.transaction(() => {
          if (this.settle(row, generation, "waiting", {})) {
            this.wake(generation, this.wakeRequested ? this.clock() : outcome.wakeAt);
          }
        });
        return row.workflow;
    }
  }

  /**
   * Moves the instance to `status` as a run starts (running) or waits for a slot (queued): one
   * transaction with its index update, then its watchers are told.
   */
  private moveTo(row: InstanceRow, status: "queued" | "running"): void {
    this.transaction(() => {
      this.sql.run(
        "UPDATE instance SET status = ?, updated_at = ?, index_version = index_version + 1 WHERE id = 1",
        status,
        this.clock(),
      );
      this.indexLater();
    });
    this.runState = undefined;
    this.publishStatus(row.instance_id, status);
  }

  /**
   * Ends a run with `status`, only if the instance is still running this generation (a pause,
   * terminate or restart during the run wins). One statement, no read held across an await.
   */
  private settle(
    row: InstanceRow,
    generation: number,
    status: InstanceStatus,
    result: { output?: string | null; error?: InstanceError },
  ): boolean {
    const updated = this.transaction(() => {
      const changed = this.sql.one<{ index_version: number }>(
        `UPDATE instance SET status = ?, output = ?, error = ?, updated_at = ?, index_version = index_version + 1
         WHERE id = 1 AND generation = ? AND status IN (${ACTIVE_SQL}) RETURNING index_version`,
        status,
        result.output ?? null,
        result.error ? JSON.stringify(result.error) : null,
        this.clock(),
        generation,
      );
      if (changed) {
        this.indexLater();
        // Suspended or over: a sleeping or waiting instance holds no slot.
        this.releaseLater(row.workflow);
        if (isFinal(status)) this.retain(row.workflow, status, changed.index_version);
      }
      return changed;
    });
    this.runState = undefined;
    if (updated) {
      this.publishStatus(row.instance_id, status);
      this.ended(row, status);
    }
    return updated !== null;
  }

  /**
   * The run task reached the dead letters: every attempt crashed the object or timed out outside
   * any step's own accounting. The instance errors with the reason instead of staying `running`
   * with nothing left to run it (no undos run: the code that would run them is what keeps failing).
   */
  private abandon(letter: DeadLetter): void {
    const row = this.row();
    const { generation } = letter.payload as { generation: number };
    if (!row || row.generation !== generation) return;
    this.settle(row, generation, "errored", {
      error: {
        name: "RunAbandonedError",
        message: `The run did not finish in ${letter.attempts} attempts; the last: ${letter.lastError ?? "unknown"}`,
      },
    });
  }

  /**
   * The instance reached `status`: when final (complete, errored, terminated), one metric point
   * with its run time since it was created. blobs: workflow, status; doubles: run time (ms).
   */
  private ended(row: InstanceRow, status: InstanceStatus): void {
    if (!isFinal(status)) return;
    metric(this.env, {
      index: "workflow:instance",
      blobs: [row.workflow, status],
      doubles: [this.clock() - row.created_at],
    });
  }

  /** Schedules the next run of `generation` (replacing any pending one: one run task per instance). */
  private wake(generation: number, at: number): void {
    this.queue.schedule("run", { generation }, { at, key: "run" });
  }

  /**
   * The intent to update the index, written in the transaction of the status change it follows:
   * one task (key `index`), due now, replaced by each further change (it sends the row as it is
   * when it runs, so several changes in a row make one update).
   */
  private indexLater(): void {
    this.queue.schedule("index", {}, { at: this.clock(), key: "index", maxAttempts: INDEX_MAX_ATTEMPTS });
  }

  /**
   * For a workflow with a concurrency limit: gives back the instance's slot or place in line, through
   * the queue (task `release`, at least once), in the caller's transaction. The ticket is raised here,
   * so the release covers every request made before it and none made after.
   */
  private releaseLater(workflow: string): void {
    if (!this.workflows.get(workflow)?.concurrency) return;
    const { slot_ticket: ticket } = this.sql.one<{ slot_ticket: number }>(
      "UPDATE instance SET slot_ticket = slot_ticket + 1 WHERE id = 1 RETURNING slot_ticket",
    )!;
    this.runState = undefined;
    this.queue.schedule("release", { ticket }, { at: this.clock(), key: "release", maxAttempts: INDEX_MAX_ATTEMPTS });
  }

  /** The `release` task: tells the coordinator. Throws to be retried. */
  private async sendRelease(ticket: number): Promise<void> {
    const row = this.row();
    const limit = row ? this.workflows.get(row.workflow)?.concurrency?.limit : undefined;
    if (!row || limit === undefined) return;
    await this.env.WORKFLOW_COORDINATOR.getByName(row.workflow).release(
      row.instance_id,
      row.incarnation,
      ticket,
      limit,
    );
  }

  /** Sends the instance's row to its workflow's index (the `index` task). Throws to be retried. */
  private async sendToIndex(): Promise<void> {
    const row = this.row();
    if (!row) return;
    const update: IndexUpdate = {
      id: row.instance_id,
      incarnation: row.incarnation,
      status: row.status,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      version: row.index_version,
    };
    await this.env.WORKFLOW_INDEX.getByName(row.workflow).apply(update);
  }

  /** Schedules the deletion of a finished instance when its workflow's retention for `status` has passed. */
  private retain(workflow: string, status: "complete" | "errored" | "terminated", version: number): void {
    const retention = this.workflows.get(workflow)?.retention[status];
    if (retention === undefined) return; // a workflow no longer registered: kept until deleted by hand
    // Retried until the index can be reached (a failed delete deletes nothing), like the index task.
    this.queue.schedule(
      "expire",
      { version },
      { at: this.clock() + retention, key: "expire", maxAttempts: INDEX_MAX_ATTEMPTS },
    );
  }

  /** The `expire` task: deletes the instance if it is still the finished one the task was scheduled for. */
  private async expire(version: number): Promise<void> {
    const row = this.row();
    if (!row || row.index_version !== version || !isFinal(row.status)) return;
    await this.purge(row);
  }

  /**
   * Removes the instance from its index, then frees its object's storage: every row and the alarm
   * (`deleteAll()`, which clears the alarm from compatibility date 2026-02-24). Nothing else runs
   * here meanwhile (`blockConcurrencyWhile`), so no restart or event can slip in between. The index
   * first: if that RPC fails nothing is deleted, and the caller (a DELETE, or the retried `expire`
   * task) tries again; the index's tombstone keeps an update of this incarnation still in flight
   * from bringing the entry back.
   */
  private async purge(row: InstanceRow): Promise<void> {
    // An error thrown inside blockConcurrencyWhile resets the object: the index's is caught and
    // thrown after, as an ordinary failure (the DELETE answers 503; the expire task is retried).
    const failure = await this.ctx.blockConcurrencyWhile(async () => {
      try {
        await this.env.WORKFLOW_INDEX.getByName(row.workflow).remove(row.instance_id, row.incarnation);
      } catch (error) {
        return { error };
      }
      await this.ctx.storage.deleteAll();
      this.forgetQueue();
      this.runState = undefined;
      // The object is now what a never-used id's object is: no tables, no queue, no alarm.
      this.schema = false;
      return null;
    });
    if (failure) throw failure.error;
  }

  private transition(
    action: "pause" | "resume" | "terminate",
    to: InstanceStatus,
    effect: (row: InstanceRow) => void,
  ): LifecycleResult {
    const row = this.row();
    if (!row) return { ok: false, reason: "not_found" };
    if (!ALLOWED_FROM[action].includes(row.status)) {
      return { ok: false, reason: "illegal_transition", status: row.status, action };
    }
    this.transaction(() => {
      const { index_version } = this.sql.one<{ index_version: number }>(
        "UPDATE instance SET status = ?, updated_at = ?, index_version = index_version + 1 WHERE id = 1 RETURNING index_version",
        to,
        this.clock(),
      )!;
      this.runState = undefined;
      this.indexLater(); // before a resume's run task: when both are due, the index hears of `queued` first
      // Paused or terminated: no slot, no place in line. A running instance's step in progress
      // finishes first, so its run gives the slot back when it ends (see runInstance).
      if (action !== "resume" && row.status !== "running") this.releaseLater(row.workflow);
      effect(row);
      if (isFinal(to)) this.retain(row.workflow, to, index_version);
    });
    this.publishStatus(row.instance_id, to);
    this.ended(row, to);
    return { ok: true, instance: { id: row.instance_id, status: to } };
  }

  private host(workflow: string, signal?: AbortSignal): ReplayHost {
    return {
      sql: this.sql,
      now: () => this.clock(),
      random: () => this.random(),
      mayStart: (generation) => {
        if (signal?.aborted) return false;
        const state = this.instanceState();
        return state?.status === "running" && state.generation === generation;
      },
      mayStore: (generation) => this.instanceState()?.generation === generation,
      stepChanged: (seq) => this.publishStep(seq),
      // blobs: workflow, step kind, outcome; doubles: attempt number, duration (ms)
      attemptEnded: ({ kind, outcome, attempt, ms }) =>
        metric(this.env, { index: "workflow:step", blobs: [workflow, kind, outcome], doubles: [attempt, ms] }),
      flush: () => {
        this.commits++;
        return this.ctx.storage.sync();
      },
      budget: this.runBudget,
    };
  }

  /** The instance's status and generation, read from SQLite once until a write clears them. */
  private instanceState(): { status: string; generation: number } | null {
    if (!this.schema) return null;
    return (this.runState ??= this.sql.one<{ status: string; generation: number }>(
      "SELECT status, generation FROM instance WHERE id = 1",
    ));
  }

  private row(): InstanceRow | null {
    if (!this.schema) return null;
    return this.sql.one<InstanceRow>("SELECT * FROM instance WHERE id = 1");
  }

  private publishStatus(id: string, status: InstanceStatus): void {
    publishToWatchers(this.ctx, () => ({ type: "status", id, status }) satisfies ServerMessage);
  }

  private publishStep(seq: number): void {
    if (!this.schema) return;
    // Reading the rows costs billed reads: only when someone watches.
    publishToWatchers(this.ctx, () => {
      const step = this.sql.one<StepRow>("SELECT * FROM steps WHERE seq = ?", seq);
      const id = this.sql.one<{ instance_id: string }>("SELECT instance_id FROM instance WHERE id = 1");
      if (!step || !id) return null;
      const { output: _output, ...view } = toStepView({ ...step, output: null });
      return { type: "step", id: id.instance_id, step: view } satisfies ServerMessage;
    });
  }
}

function toStepView(row: StepRow): StepView {
  const view: StepView = {
    position: row.seq,
    name: row.name,
    key: row.key,
    kind: row.kind,
    status: row.status,
    attempts: row.attempts,
    startedAt: iso(row.started_at),
    finishedAt: row.finished_at === null ? null : iso(row.finished_at),
    wakeAt: row.wake_at === null ? null : iso(row.wake_at),
    outputBytes: row.output_bytes,
    error: row.error ? (JSON.parse(row.error) as StepView["error"]) : null,
  };
  if (row.output !== null && (row.output_bytes ?? 0) <= MAX_VIEW_OUTPUT_BYTES) {
    view.output = decodeJson(row.output) as JsonValue;
  }
  return view;
}

/** `type~id`, the `next` cursor of a page of events (event types never contain `~`). */
function splitCursor(cursor: string): [string, number] {
  const at = cursor.lastIndexOf("~");
  return [cursor.slice(0, at), Number(cursor.slice(at + 1))];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
