import { SqlDurableObject, migrate, type Migration } from "./shared";
import { INSTANCE_STATUSES, type IndexCursor, type InstanceStatus, type StatusCounts } from "./protocol";

const migrations: Migration[] = [
  {
    name: "create index tables",
    // One row per instance of this workflow, keyed by its id (WITHOUT ROWID: the primary key is the
    // table, so a lookup by id reads one row). Pages are read newest first through the two indexes,
    // by `(created_at, id)` keyset, with or without a status: a page reads its own rows, never the
    // rows before it. `counts` holds one row per status, kept in the transaction that changes an
    // entry, so the counts are read as 7 rows whatever the size of the index. `tombstones` remember
    // which incarnation of an id was deleted, so a late update of the deleted instance (sent before
    // its object's storage was freed) cannot bring its entry back.
    sql: `CREATE TABLE entries (
            id TEXT PRIMARY KEY,
            incarnation TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            version INTEGER NOT NULL
          ) WITHOUT ROWID;
          CREATE INDEX entries_newest ON entries (created_at DESC, id DESC);
          CREATE INDEX entries_by_status ON entries (status, created_at DESC, id DESC);
          CREATE TABLE counts (status TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
          INSERT INTO counts (status, n) VALUES ${INSTANCE_STATUSES.map((status) => `('${status}', 0)`).join(", ")};
          CREATE TABLE tombstones (
            id TEXT PRIMARY KEY,
            incarnation TEXT NOT NULL,
            removed_at INTEGER NOT NULL
          ) WITHOUT ROWID;
          CREATE INDEX tombstones_by_age ON tombstones (removed_at);`,
  },
];

/** An instance's state as its runner sends it: the runner's own row, with the version that orders updates. */
export interface IndexUpdate {
  id: string;
  /** Random per creation of the id: a deleted and re-created instance is another incarnation. */
  incarnation: string;
  status: InstanceStatus;
  createdAt: number;
  updatedAt: number;
  /** Grows by one with each status change of this incarnation: an update never moves an entry back. */
  version: number;
}

/** An entry as a page lists it (times in ms). */
export interface IndexEntry extends Record<string, string | number> {
  id: string;
  status: InstanceStatus;
  created_at: number;
  updated_at: number;
}

interface EntryRow extends Record<string, string | number> {
  incarnation: string;
  status: InstanceStatus;
  version: number;
}

/** How long a tombstone is kept: far longer than an update can be in flight (an RPC under way). */
export const TOMBSTONE_MS = 3_600_000;

/** Tombstones removed per purge task run; the task runs again for the rest. */
const PURGE_BATCH = 1_000;

/** The index's timed work: removing tombstones past their hour. */
type IndexTasks = { purge: () => void };

/**
 * The index of one workflow's instances (one object per workflow name, binding `WORKFLOW_INDEX`):
 * what `GET /api/instances` pages through and `GET /api/workflows` counts. Runners send it their
 * state through their own alarm queue, at least once and in any order; the version makes applying
 * an update idempotent and keeps a late one from moving an entry back. Objects trust their callers.
 */
export class WorkflowIndex extends SqlDurableObject<Env, IndexTasks> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, "workflow");
    migrate(ctx.storage, migrations);
  }

  /** Its only task purges old tombstones, in batches. */
  protected tasks(): IndexTasks {
    return {
      // Synchronous: the tombstones go in the transaction that completes the task.
      purge: () => {
        const cutoff = this.clock() - TOMBSTONE_MS;
        this.sql.run(
          `DELETE FROM tombstones WHERE id IN
           (SELECT id FROM tombstones WHERE removed_at <= ? ORDER BY removed_at LIMIT ?)`,
          cutoff,
          PURGE_BATCH,
        );
        const oldest = this.sql.one<{ removed_at: number }>(
          "SELECT removed_at FROM tombstones ORDER BY removed_at LIMIT 1",
        );
        if (oldest) this.queue.schedule("purge", {}, { at: oldest.removed_at + TOMBSTONE_MS, key: "purge" });
      },
    };
  }

  /**
   * Applies a runner's update when it is newer than the entry (same incarnation, higher version),
   * or creates the entry (unless that incarnation was deleted). Returns whether it changed anything.
   * The entry and the counts change in one transaction.
   */
  apply(update: IndexUpdate): boolean {
    return this.log.op("index-apply", () => {
      const entry = this.sql.one<EntryRow>("SELECT incarnation, status, version FROM entries WHERE id = ?", update.id);
      if (entry) {
        // Another incarnation holds the id: this update is from one deleted before it was created.
        if (entry.incarnation !== update.incarnation || update.version <= entry.version) return false;
        this.transaction(() => {
          this.sql.run(
            "UPDATE entries SET status = ?, updated_at = ?, version = ? WHERE id = ?",
            update.status,
            update.updatedAt,
            update.version,
            update.id,
          );
          if (entry.status !== update.status) this.count(entry.status, update.status);
        });
        return true;
      }
      const deleted = this.sql.one(
        "SELECT 1 AS gone FROM tombstones WHERE id = ? AND incarnation = ?",
        update.id,
        update.incarnation,
      );
      if (deleted) return false;
      this.transaction(() => {
        this.sql.run(
          "INSERT INTO entries (id, incarnation, status, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?)",
          update.id,
          update.incarnation,
          update.status,
          update.createdAt,
          update.updatedAt,
          update.version,
        );
        this.count(null, update.status);
      });
      return true;
    });
  }

  /**
   * Removes the entry of this incarnation of `id` (the instance is being deleted) and remembers the
   * incarnation for {@link TOMBSTONE_MS}, so an update of it still in flight changes nothing.
   */
  remove(id: string, incarnation: string): void {
    this.log.op("index-remove", () => {
      const entry = this.sql.one<EntryRow>("SELECT incarnation, status, version FROM entries WHERE id = ?", id);
      const now = this.clock();
      this.transaction(() => {
        if (entry?.incarnation === incarnation) {
          this.sql.run("DELETE FROM entries WHERE id = ?", id);
          this.count(entry.status, null);
        }
        this.sql.run(
          "INSERT INTO tombstones (id, incarnation, removed_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET incarnation = excluded.incarnation, removed_at = excluded.removed_at",
          id,
          incarnation,
          now,
        );
        // One purge task at a time: a pending one keeps its time (it reschedules itself for the rest).
        if (!this.queue.get({ key: "purge" }))
          this.queue.schedule("purge", {}, { at: now + TOMBSTONE_MS, key: "purge" });
      });
    });
  }

  /**
   * Up to `limit + 1` entries, newest first (by creation time, then id), after `cursor`, of one
   * status or all: the caller shows `limit` and knows from the extra one whether a next page exists.
   */
  page(options: { status?: InstanceStatus; cursor?: IndexCursor; limit: number }): IndexEntry[] {
    return this.log.op("index-page", () => {
      const where: string[] = [];
      const bindings: (string | number)[] = [];
      if (options.status !== undefined) {
        where.push("status = ?");
        bindings.push(options.status);
      }
      if (options.cursor) {
        where.push("(created_at, id) < (?, ?)");
        bindings.push(options.cursor.createdAt, options.cursor.id);
      }
      return this.sql.all<IndexEntry>(
        `SELECT id, status, created_at, updated_at FROM entries ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY created_at DESC, id DESC LIMIT ?`,
        ...bindings,
        options.limit + 1,
      );
    });
  }

  /** How many entries are in each status: one row per status, every status present. */
  counts(): StatusCounts {
    return this.log.op("index-counts", () => {
      const counts = Object.fromEntries(INSTANCE_STATUSES.map((status) => [status, 0])) as StatusCounts;
      for (const row of this.sql.all<{ status: InstanceStatus; n: number }>("SELECT status, n FROM counts")) {
        counts[row.status] = row.n;
      }
      return counts;
    });
  }

  /** Moves one entry from status `from` to `to` in the counts (null: none), in one statement. */
  private count(from: InstanceStatus | null, to: InstanceStatus | null): void {
    this.sql.run(
      "UPDATE counts SET n = n + (status = ?) - (status = ?) WHERE status IN (?, ?)",
      to ?? "",
      from ?? "",
      to ?? "",
      from ?? "",
    );
  }
}
