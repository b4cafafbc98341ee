/**
 * One meter for every alarm implementation in the bench, so that the numbers compare: it wraps
 * the object's `ctx.storage` before any library sees it and counts, for every SQL statement, the
 * cursor's `rowsRead`/`rowsWritten` (what billing counts), and every `setAlarm`/`deleteAlarm`
 * call (each a billed write). Libraries that bring their own tables (the agents SDK, the Actors
 * SDK) are measured exactly like the shared alarm queue, whose own `RunReport` must agree.
 */
export interface StorageMeter {
  statements: number;
  rowsRead: number;
  rowsWritten: number;
  alarmWrites: number;
}

/**
 * Wraps `ctx.storage.sql.exec`, `setAlarm` and `deleteAlarm` in place and returns the live meter.
 * Call it first in the constructor, before `super()` hands `ctx` to a library.
 *
 * @example
 * constructor(ctx: DurableObjectState, env: unknown) {
 *   const meter = meterStorage(ctx);
 *   super(ctx, env);
 *   this.meter = meter;
 * }
 */
export function meterStorage(ctx: DurableObjectState): {
  read(): StorageMeter;
  /** The unwrapped `exec`, for the bench's own bookkeeping queries (not counted). */
  unmetered: SqlStorage["exec"];
} {
  const storage = ctx.storage;
  const sql = storage.sql;
  const totals = { statements: 0, rowsRead: 0, rowsWritten: 0, alarmWrites: 0 };
  // A cursor's counts grow while it is read; they are summed when the meter is read.
  let open: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  const exec = sql.exec.bind(sql);
  Object.defineProperty(sql, "exec", {
    value: (query: string, ...bindings: unknown[]) => {
      const cursor = exec(query, ...bindings);
      totals.statements += 1;
      open.push(cursor);
      return cursor;
    },
  });
  for (const method of ["setAlarm", "deleteAlarm"] as const) {
    const original = storage[method].bind(storage) as (...args: unknown[]) => Promise<void>;
    Object.defineProperty(storage, method, {
      value: (...args: unknown[]) => {
        totals.alarmWrites += 1;
        return original(...args);
      },
    });
  }
  return {
    unmetered: exec,
    read() {
      for (const cursor of open) {
        totals.rowsRead += cursor.rowsRead;
        totals.rowsWritten += cursor.rowsWritten;
      }
      // Only cursors still being read (none between RPC calls) would count again: keep none.
      open = [];
      return { ...totals };
    },
  };
}
