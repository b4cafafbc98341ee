// Vendored from durable-patterns packages/shared/src/sql.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * Typed helpers over `ctx.storage.sql` that meter what every statement costs.
 *
 * Durable Object SQLite bills rows read and rows written. The cursor exposes both once it has
 * been consumed; these helpers consume it, return typed rows, and add the cost to a running
 * {@link SqlMeter} so tests can assert storage cost per operation exactly.
 *
 * @example
 * ```ts
 * const db = new Sql(ctx.storage);
 * const row = db.one<{ value: number }>("SELECT value FROM counter WHERE id = ?", 1);
 * db.meter.rowsWritten; // total since the object started
 * ```
 */

/** A value SQLite can bind or return. */
export type SqlValue = ArrayBuffer | string | number | null;

/** Rows read and written, as billed. */
export interface SqlCost {
  rowsRead: number;
  rowsWritten: number;
}

/** A running total of statements and their cost since this object's instance started. */
export interface SqlMeter extends SqlCost {
  statements: number;
}

/** The rows of one statement together with what it cost. */
export interface SqlResult<T> extends SqlCost {
  rows: T[];
}

export class Sql {
  /** What every statement through this helper has cost since construction (or the last reset). */
  readonly meter: SqlMeter = { statements: 0, rowsRead: 0, rowsWritten: 0 };

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Runs one statement and returns all its rows with its cost. */
  query<T extends Record<string, SqlValue>>(query: string, ...bindings: SqlValue[]): SqlResult<T> {
    const cursor = this.storage.sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    const cost = { rowsRead: cursor.rowsRead, rowsWritten: cursor.rowsWritten };
    this.meter.statements += 1;
    this.meter.rowsRead += cost.rowsRead;
    this.meter.rowsWritten += cost.rowsWritten;
    return { rows, ...cost };
  }

  /** All rows of a statement. */
  all<T extends Record<string, SqlValue>>(query: string, ...bindings: SqlValue[]): T[] {
    return this.query<T>(query, ...bindings).rows;
  }

  /** The first row of a statement, or `null` when it returns none. */
  one<T extends Record<string, SqlValue>>(query: string, ...bindings: SqlValue[]): T | null {
    return this.query<T>(query, ...bindings).rows[0] ?? null;
  }

  /**
   * Whether table `name` exists, asked with a statement that reads no row (sqlite_master has no
   * index by name: a lookup there reads every row of the schema). For objects that create their
   * tables on first write and delete them with their state.
   */
  hasTable(name: string): boolean {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`"${name}" is not a table name.`);
    try {
      this.run(`SELECT 1 FROM ${name} LIMIT 0`);
      return true;
    } catch (error) {
      if (String(error).includes("no such table")) return false;
      throw error;
    }
  }

  /** Runs a statement for its effect and returns its cost. */
  run(query: string, ...bindings: SqlValue[]): SqlCost {
    const { rowsRead, rowsWritten } = this.query(query, ...bindings);
    return { rowsRead, rowsWritten };
  }

  /**
   * Runs `fn` in one SQLite transaction (SQL `BEGIN` is rejected in Durable Objects). Everything
   * `fn` writes commits together, or nothing does if it throws.
   */
  transaction<T>(fn: () => T): T {
    return this.storage.transactionSync(fn);
  }

  /**
   * Measures what `fn` costs: the difference in the meter before and after.
   *
   * @example
   * ```ts
   * const { result, cost } = db.measure(() => db.one("UPDATE ... RETURNING value"));
   * ```
   */
  measure<T>(fn: () => T): { result: T; cost: SqlMeter } {
    const before = { ...this.meter };
    const result = fn();
    return { result, cost: costBetween(before, this.meter) };
  }
}

/** What was spent between two readings of a meter. */
export function costBetween(before: SqlMeter, after: SqlMeter): SqlMeter {
  return {
    statements: after.statements - before.statements,
    rowsRead: after.rowsRead - before.rowsRead,
    rowsWritten: after.rowsWritten - before.rowsWritten,
  };
}
