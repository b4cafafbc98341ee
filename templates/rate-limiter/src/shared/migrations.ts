// Vendored from durable-patterns packages/shared/src/migrations.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * Ordered SQL migrations for a SQLite-backed Durable Object, applied in its constructor.
 *
 * Each step runs once, in its own transaction together with the record that it ran. Running the
 * list again is cheap when everything is applied (it reads one row per applied step and writes
 * nothing), so it is safe to call in every constructor. The applied history must be a prefix of the code's list:
 * a step edited or removed after it was applied stops the object with a {@link MigrationError}
 * instead of silently diverging from what the code expects.
 *
 * @example
 * ```ts
 * const migrations = [
 *   { name: "create counter", sql: "CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)" },
 * ] as const satisfies Migration[];
 *
 * constructor(ctx: DurableObjectState, env: Env) {
 *   super(ctx, env);
 *   migrate(ctx.storage, migrations);
 * }
 * ```
 */

/** One step. `sql` may hold several statements separated by `;`. Never edit an applied step: add a new one. */
export interface Migration {
  readonly name: string;
  readonly sql: string;
}

/** What {@link migrate} did. */
export interface MigrationReport {
  /** Names of the steps applied by this call, in order. Empty when up to date. */
  applied: string[];
  /** Number of steps recorded as applied after this call. */
  total: number;
  /**
   * Rows this call read, as the cursors report them: one per applied step for the history check,
   * plus what the steps it applied read. For a step of several statements the runtime reports
   * only the last statement, so this is exact when up to date and a lower bound otherwise.
   */
  rowsRead: number;
  /** Rows this call wrote, as the cursors report them (0 when up to date; see `rowsRead`). */
  rowsWritten: number;
}

/** The applied history does not match the code: a step was edited, removed or reordered. */
export class MigrationError extends Error {
  override name = "MigrationError";
}

/** The table that records applied steps. Apps must not use this name. */
export const MIGRATIONS_TABLE = "_migrations";

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /**
   * The history table, {@link MIGRATIONS_TABLE} by default. A library that owns tables inside an
   * app's object (such as the alarm queue) keeps its own list of steps in its own history table,
   * so its steps and the app's never interleave or clash.
   */
  readonly table?: string;
}

/**
 * Applies every step of `migrations` not yet applied, in order.
 *
 * @throws {MigrationError} when the recorded history is not a prefix of `migrations`.
 * @throws whatever SQLite throws for a failing step; that step and later ones stay unapplied.
 */
export function migrate(
  storage: DurableObjectStorage,
  migrations: readonly Migration[],
  options: MigrateOptions = {},
): MigrationReport {
  const table = options.table ?? MIGRATIONS_TABLE;
  // The name is spliced into SQL, so only plain identifiers are accepted.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new MigrationError(`"${table}" is not a valid table name.`);
  const cost = { rowsRead: 0, rowsWritten: 0 };
  // Every statement goes through here so the report can state what the call cost.
  const exec = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: SqlStorageValue[]): T[] => {
    const cursor = storage.sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    cost.rowsRead += cursor.rowsRead;
    cost.rowsWritten += cursor.rowsWritten;
    return rows;
  };
  exec(
    `CREATE TABLE IF NOT EXISTS ${table} (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      checksum TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    )`,
  );
  const history = exec<{ id: number; name: string; checksum: string }>(
    `SELECT id, name, checksum FROM ${table} ORDER BY id`,
  );

  if (history.length > migrations.length) {
    throw new MigrationError(
      `${history.length} migrations are applied but the code has only ${migrations.length}: ` +
        `"${history[migrations.length]!.name}" was removed. Never remove an applied migration.`,
    );
  }
  history.forEach((row, index) => {
    const step = migrations[index]!;
    if (row.id !== index + 1 || row.name !== step.name || row.checksum !== checksum(step.sql)) {
      throw new MigrationError(
        `Migration ${index + 1} ("${step.name}") does not match the applied step "${row.name}": ` +
          `it was edited or reordered after it ran. Add a new migration instead.`,
      );
    }
  });

  const applied: string[] = [];
  for (const [index, step] of migrations.entries()) {
    if (index < history.length) continue;
    storage.transactionSync(() => {
      exec(step.sql);
      exec(
        `INSERT INTO ${table} (id, name, checksum, applied_at) VALUES (?, ?, ?, ?)`,
        index + 1,
        step.name,
        checksum(step.sql),
        Date.now(),
      );
    });
    applied.push(step.name);
  }
  return { applied, total: migrations.length, ...cost };
}

/**
 * FNV-1a (64-bit) of the statement text with whitespace normalized, so re-indenting a step or
 * spreading it over several lines is not an edit but changing any token is. Runs of whitespace
 * become one space, and whitespace next to punctuation is dropped (`( id` and `(id` hash alike).
 * The normalization does not parse SQL, so whitespace inside string literals counts as
 * formatting too. Synchronous, unlike `crypto.subtle.digest`, because migrations run inside the
 * constructor before any request is served.
 */
export function checksum(text: string): string {
  const normalized = text
    .trim()
    .replace(/\s+/g, " ")
    .replace(/ ?([^\w\s]) ?/g, "$1");
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < normalized.length; i++) {
    hash ^= BigInt(normalized.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}
