import { SqlDurableObject, migrate, type Migration } from "./shared";

const migrations: Migration[] = [
  {
    name: "create slots and waitlist",
    // `slots`: one row per instance allowed to run steps now, with the ticket of the request that
    // got it and when its lease ends. `waitlist`: instances that asked for a slot and got none,
    // served in creation order through its (created_at, id) index. A ticket is the runner's own
    // counter, raised at each request: a release only frees what an older or equal request got, so
    // a release delivered late never frees a slot the instance asked for again since.
    sql: `CREATE TABLE slots (
            id TEXT PRIMARY KEY,
            incarnation TEXT NOT NULL,
            ticket INTEGER NOT NULL,
            lease_until INTEGER NOT NULL
          ) WITHOUT ROWID;
          CREATE INDEX slots_by_lease ON slots (lease_until);
          CREATE TABLE waitlist (
            id TEXT PRIMARY KEY,
            incarnation TEXT NOT NULL,
            ticket INTEGER NOT NULL,
            created_at INTEGER NOT NULL
          ) WITHOUT ROWID;
          CREATE INDEX waitlist_in_order ON waitlist (created_at, id);`,
  },
];

/** Who asks for a slot: the instance, its incarnation, its request's ticket and when it was created. */
export interface SlotRequest {
  id: string;
  incarnation: string;
  /** Grows with each request and release of this incarnation. */
  ticket: number;
  createdAt: number;
  /** The workflow's limit, from the code (`concurrency.limit`). */
  limit: number;
}

/**
 * How long a slot is held without a new request: longer than one run can last (a run is abandoned
 * by its queue after 12 minutes), so a running instance renews it at each run, and a slot whose
 * instance never came back (its object gone) is free again after it.
 */
export const LEASE_MS = 15 * 60_000;

/** The coordinator's timed work: waking a waiter granted a slot, freeing expired leases. */
type CoordinatorTasks = {
  wake: (payload: { id: string }) => Promise<void>;
  reap: (payload: { limit: number }) => void;
};

/**
 * The concurrency limit of one workflow (one object per workflow name that has one, binding
 * `WORKFLOW_COORDINATOR`). A runner asks for a slot at the start of each run and releases it when
 * the run suspends or ends, through its own alarm queue (at least once). Granting, releasing and
 * promoting waiters are each one transaction here, so the number of slots never exceeds the limit;
 * a waiter granted a slot is woken through this object's alarm queue (at least once).
 */
export class WorkflowCoordinator extends SqlDurableObject<Env, CoordinatorTasks> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, "workflow");
    migrate(ctx.storage, migrations);
  }

  protected tasks(): CoordinatorTasks {
    return {
      // Asynchronous (an RPC), so at least once: a runner woken twice runs once (its run task has one key).
      wake: async (payload: { id: string }) => {
        await this.env.WORKFLOW_RUNNER.getByName(payload.id).slotGranted();
      },
      // Synchronous: expired leases are freed and their slots given, in the task's transaction.
      reap: (payload: { limit: number }) => {
        this.promote(payload.limit, null);
      },
    };
  }

  /**
   * A slot for instance `request.id`: granted at once when it holds one already (renewed) or when a
   * slot is free and no older instance waits; otherwise it joins the waitlist and is woken
   * (`slotGranted`) when its turn comes. Returns whether it may run now.
   */
  acquire(request: SlotRequest): boolean {
    return this.log.op("slot-acquire", () =>
      this.transaction(() => {
        const now = this.clock();
        const held = this.sql.run(
          "UPDATE slots SET ticket = ?, lease_until = ? WHERE id = ? AND incarnation = ? AND ticket < ?",
          request.ticket,
          now + LEASE_MS,
          request.id,
          request.incarnation,
          request.ticket,
        );
        if (held.rowsWritten > 0) {
          this.rearm(request.limit);
          return true;
        }
        this.sql.run(
          `INSERT INTO waitlist (id, incarnation, ticket, created_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET incarnation = excluded.incarnation, ticket = excluded.ticket
           WHERE excluded.ticket > waitlist.ticket OR excluded.incarnation <> waitlist.incarnation`,
          request.id,
          request.incarnation,
          request.ticket,
          request.createdAt,
        );
        return this.promote(request.limit, request.id);
      }),
    );
  }

  /**
   * Gives up what instance `id` holds or waits for, if that came from a request older than
   * `ticket` (its run suspended or ended, or it was paused or terminated). Frees the slot for the
   * next waiter.
   */
  release(id: string, incarnation: string, ticket: number, limit: number): void {
    this.log.op("slot-release", () =>
      this.transaction(() => {
        this.sql.run("DELETE FROM slots WHERE id = ? AND incarnation = ? AND ticket < ?", id, incarnation, ticket);
        this.sql.run("DELETE FROM waitlist WHERE id = ? AND incarnation = ? AND ticket < ?", id, incarnation, ticket);
        this.promote(limit, null);
      }),
    );
  }

  /** The instances holding a slot and those waiting, in order: what the README's figures and tests read. */
  state(): { running: string[]; waiting: string[] } {
    return this.log.op("slot-state", () => ({
      running: this.sql.all<{ id: string }>("SELECT id FROM slots ORDER BY id").map((row) => row.id),
      waiting: this.sql.all<{ id: string }>("SELECT id FROM waitlist ORDER BY created_at, id").map((row) => row.id),
    }));
  }

  /**
   * Frees expired leases, then gives free slots to the oldest waiters: each is woken through the
   * queue, except `asking`, which is answered directly. Returns whether `asking` got a slot.
   * Runs inside the caller's transaction.
   */
  private promote(limit: number, asking: string | null): boolean {
    const now = this.clock();
    this.sql.run("DELETE FROM slots WHERE lease_until <= ?", now);
    let used = this.sql.one<{ n: number }>("SELECT count(*) AS n FROM slots")!.n;
    let granted = false;
    while (used < limit) {
      const next = this.sql.one<{ id: string; incarnation: string; ticket: number }>(
        "SELECT id, incarnation, ticket FROM waitlist ORDER BY created_at, id LIMIT 1",
      );
      if (!next) break;
      this.sql.run("DELETE FROM waitlist WHERE id = ?", next.id);
      this.sql.run(
        "INSERT INTO slots (id, incarnation, ticket, lease_until) VALUES (?, ?, ?, ?)",
        next.id,
        next.incarnation,
        next.ticket,
        now + LEASE_MS,
      );
      used++;
      if (next.id === asking) granted = true;
      else this.queue.schedule("wake", { id: next.id }, { at: now, key: `wake:${next.id}` });
    }
    this.rearm(limit);
    return granted;
  }

  /** Keeps one `reap` task due when the earliest lease ends (none when no slot is held). */
  private rearm(limit: number): void {
    const earliest = this.sql.one<{ at: number }>("SELECT lease_until AS at FROM slots ORDER BY lease_until LIMIT 1");
    const pending = this.queue.get({ key: "reap" });
    if (!earliest) {
      if (pending) this.queue.cancel({ key: "reap" });
    } else if (pending?.due !== earliest.at) {
      this.queue.schedule("reap", { limit }, { at: earliest.at, key: "reap" });
    }
  }
}
