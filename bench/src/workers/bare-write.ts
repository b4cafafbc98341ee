import { DurableObject } from "cloudflare:workers";

/**
 * The write limit: one SQLite statement on one row, `UPDATE … RETURNING`, and nothing else (no
 * migrations table, no range check, no broadcast). A request through it pays for the bare Worker,
 * the RPC and one durable one-statement write: what the cheapest possible write costs here.
 */
export class BareWrite extends DurableObject<object> {
  private readonly meter = { statements: 0, rowsRead: 0, rowsWritten: 0 };

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    // Once per object life, not per request: the row exists before the first write.
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL); INSERT OR IGNORE INTO counter (id, value) VALUES (1, 0)",
    );
  }

  add(delta: number): number {
    const cursor = this.ctx.storage.sql.exec<{ value: number }>(
      "UPDATE counter SET value = value + ? WHERE id = 1 RETURNING value",
      delta,
    );
    const { value } = cursor.one();
    this.meter.statements += 1;
    this.meter.rowsRead += cursor.rowsRead;
    this.meter.rowsWritten += cursor.rowsWritten;
    return value;
  }

  /** Bench-only: the cursors' rowsRead/rowsWritten of every `add`, in the Sql meter's shape. */
  benchMeter() {
    return { ...this.meter };
  }
}
