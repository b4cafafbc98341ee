import { DurableObject } from "cloudflare:workers";
import {
  Sql,
  acceptWebSocket,
  answerPings,
  broadcast,
  migrate,
  parseFrame,
  reciprocateClose,
  rejectFrame,
  sendJson,
  type Migration,
} from "@durable-patterns/shared";
import { CLIENT_MESSAGE_TYPES, ClientMessage, MAX_FRAME_BYTES, MAX_VALUE, type ServerMessage } from "./protocol";

const migrations: Migration[] = [
  {
    name: "create counter",
    // One row per object: the object *is* the counter, so the table never grows. The row exists
    // from the start, so every change is a plain UPDATE: measured, an upsert reads 2 rows per
    // change where this reads 1 (see test/storage-cost.test.ts).
    sql: `CREATE TABLE counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
          INSERT INTO counter (id, value) VALUES (1, 0);`,
  },
];

/** The result of a change: the new value, or the unchanged one when the change would leave the range. */
export type ChangeResult =
  { ok: true; value: number } | { ok: false; value: number; reason: "out_of_range"; limit: number };

/**
 * One named counter. Every change is a single SQL statement, so concurrent requests cannot
 * interleave and each change writes exactly one row.
 */
export class Counter extends DurableObject<Env> {
  /** Metered SQL: tests read `sql.meter` to assert the storage cost of each operation. */
  readonly sql: Sql;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = new Sql(ctx.storage);
    migrate(ctx.storage, migrations);
    answerPings(ctx);
  }

  /** The current value; 0 for a counter never touched. Reads one row. */
  value(): number {
    return this.sql.one<{ value: number }>("SELECT value FROM counter WHERE id = 1")!.value;
  }

  /**
   * Adds `delta` (negative to subtract) unless the result would leave [-limit, limit].
   * The range check is inside the statement: no read-then-write, no window for a race.
   */
  add(delta: number, limit: number = MAX_VALUE): ChangeResult {
    const row = this.sql.one<{ value: number }>(
      "UPDATE counter SET value = value + ?1 WHERE id = 1 AND abs(value + ?1) <= ?2 RETURNING value",
      delta,
      limit,
    );
    if (!row) return { ok: false, value: this.value(), reason: "out_of_range", limit };
    this.publish(row.value);
    return { ok: true, value: row.value };
  }

  /** Sets the value (validated by the caller to be within range). */
  set(value: number): number {
    const row = this.sql.one<{ value: number }>("UPDATE counter SET value = ?1 WHERE id = 1 RETURNING value", value)!;
    this.publish(row.value);
    return row.value;
  }

  /** Sets the value back to 0. */
  reset(): number {
    return this.set(0);
  }

  /** Only WebSocket upgrades arrive here; everything else is RPC. */
  override async fetch(): Promise<Response> {
    const { response, socket } = acceptWebSocket(this.ctx, { tags: ["watcher"] });
    sendJson(socket, { type: "value", value: this.value() } satisfies ServerMessage);
    return response;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const frame = parseFrame(ClientMessage, message, { maxBytes: MAX_FRAME_BYTES, knownTypes: CLIENT_MESSAGE_TYPES });
    if (!frame.ok) return rejectFrame(ws, frame);
    const { type, by } = frame.data;
    const result = this.add(type === "increment" ? by : -by);
    if (!result.ok) {
      sendJson(ws, {
        type: "error",
        code: "out_of_range",
        detail: `${type} by ${by} would take the counter beyond ±${result.limit}; it stays at ${result.value}.`,
      } satisfies ServerMessage);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    reciprocateClose(ws, code, reason);
  }

  private publish(value: number): void {
    broadcast(this.ctx, { type: "value", value } satisfies ServerMessage, { tag: "watcher" });
  }
}
