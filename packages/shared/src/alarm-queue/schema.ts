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
] as const satisfies Migration[];

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
