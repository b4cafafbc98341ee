// Vendored from durable-patterns packages/shared/src/alarm-queue/schema.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
import type { Migration } from "../migrations";

/**
 * The queue's own tables, applied with `migrate(storage, QUEUE_MIGRATIONS, { table: QUEUE_MIGRATIONS_TABLE })`
 * so they live beside an app's tables without sharing its migration history. Every name starts with
 * `_alarm_queue` so an app never collides with them. Never edit a step: add one.
 */
export const QUEUE_MIGRATIONS_TABLE = "_alarm_queue_migrations";

export const QUEUE_MIGRATIONS = [
  {
    name: "create tasks, dead letters and alarm state",
    sql: `
      CREATE TABLE _alarm_queue_tasks (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        key TEXT UNIQUE,
        payload TEXT NOT NULL,
        due INTEGER NOT NULL,
        cron TEXT,
        timezone TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        last_error TEXT,
        revision INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX _alarm_queue_tasks_due ON _alarm_queue_tasks (due, id);
      CREATE TABLE _alarm_queue_dead (
        id INTEGER PRIMARY KEY,
        task_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        key TEXT,
        payload TEXT NOT NULL,
        cron TEXT,
        timezone TEXT,
        attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        failed_at INTEGER NOT NULL
      );
      CREATE TABLE _alarm_queue_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        armed_at INTEGER,
        alarm_writes INTEGER NOT NULL
      );
      INSERT INTO _alarm_queue_state (id, armed_at, alarm_writes) VALUES (1, NULL, 0)
    `,
  },
  {
    // Ids were SQLite's max(rowid) + 1, so a task scheduled after the newest one was removed got
    // its id back, and a handler still running for the old task completed or failed the new one.
    // Ids now come from next_id, which only grows; it starts past every id that pending tasks
    // and dead letters still hold. No row is rewritten: nothing pending can be lost by this step.
    // armed_write_at is when the alarm was last written (queue clock): an armed time in the past
    // is trusted as pending for a grace period instead of being written again on every call.
    name: "never reuse a task id; remember when the alarm was written",
    sql: `
      ALTER TABLE _alarm_queue_state ADD COLUMN next_id INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE _alarm_queue_state ADD COLUMN armed_write_at INTEGER;
      UPDATE _alarm_queue_state SET next_id = 1 + max(
        coalesce((SELECT max(id) FROM _alarm_queue_tasks), 0),
        coalesce((SELECT max(task_id) FROM _alarm_queue_dead), 0)
      ) WHERE id = 1
    `,
  },
] as const satisfies Migration[];

/** The one row of `_alarm_queue_state`. */
export interface StateRow extends Record<string, number | null> {
  /** The due time (queue clock) the platform alarm points at, or `null` when none is set. */
  armed_at: number | null;
  /** The queue clock when the alarm was last written. */
  armed_write_at: number | null;
  alarm_writes: number;
  /** The id the next new task gets. */
  next_id: number;
}

export const STATE_COLUMNS = "armed_at, armed_write_at, alarm_writes, next_id";

/** A row of `_alarm_queue_tasks`. */
export interface TaskRow extends Record<string, string | number | null> {
  id: number;
  name: string;
  key: string | null;
  payload: string;
  due: number;
  cron: string | null;
  timezone: string | null;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  revision: number;
  created_at: number;
}

/** A row of `_alarm_queue_dead`. */
export interface DeadRow extends Record<string, string | number | null> {
  id: number;
  task_id: number;
  name: string;
  key: string | null;
  payload: string;
  cron: string | null;
  timezone: string | null;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  created_at: number;
  failed_at: number;
}

export const TASK_COLUMNS =
  "id, name, key, payload, due, cron, timezone, attempts, max_attempts, last_error, revision, created_at";
