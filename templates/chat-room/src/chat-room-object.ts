import {
  CloseCode,
  SqlDurableObject,
  acceptWebSocket,
  answerPings,
  attachmentOf,
  broadcastText,
  closeWebSocket,
  metric,
  migrate,
  parseFrame,
  reciprocateClose,
  rejectFrame,
  sendJson,
  type Migration,
} from "./shared";
import {
  CLIENT_ID_WINDOW_MS,
  CLIENT_MESSAGE_TYPES,
  ClientMessage,
  IDLE_PURGE_MS,
  JoinQuery,
  MAX_CONNECTIONS,
  MAX_FRAME_BYTES,
  MAX_RESUME_BYTES,
  MAX_RESUME_MESSAGES,
  MAX_UNACKED_BYTES,
  MAX_UNACKED_MESSAGES,
  PURGE_RETRY_MS,
  RATE_LIMIT,
  RECENT_MESSAGES,
  type ChatMessage,
  type ServerMessage,
  type User,
} from "./protocol";
import { checkRate, initialRate, type RateState } from "./rate-limit";

const migrations: Migration[] = [
  {
    name: "create room",
    // `epoch` names this life of the room: a purge deletes it, and the next use draws a new one,
    // so a client resuming with an id from before the purge is told to start over.
    // `messages` has the INTEGER PRIMARY KEY as its only index: each insert writes one row
    // (an extra index, e.g. on `at`, would write two; see test/storage-cost.test.ts). Without
    // AUTOINCREMENT ids are max(id) + 1, strictly increasing because messages are never deleted
    // one by one, and AUTOINCREMENT would write its sqlite_sequence row on every insert.
    sql: `CREATE TABLE room (id INTEGER PRIMARY KEY CHECK (id = 1), epoch TEXT NOT NULL);
          INSERT INTO room (id, epoch) VALUES (1, lower(hex(randomblob(8))));
          CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL,
            name TEXT NOT NULL,
            text TEXT NOT NULL,
            at INTEGER NOT NULL
          );`,
  },
  {
    name: "message client ids",
    // The clientId of a message, for safe resends (see webSocketMessage). The index is partial:
    // a message without a clientId has no entry in it and still writes one row; one with a
    // clientId writes two (the row and its index entry), and a resend is found by reading one.
    sql: `ALTER TABLE messages ADD COLUMN client_id TEXT;
          CREATE INDEX messages_client_id ON messages (client_id) WHERE client_id IS NOT NULL;`,
  },
];

/** What each socket carries through hibernation. */
interface Session {
  user: User;
  rate: RateState;
  /**
   * The newest message id the client acknowledged (at join: the newest there was). Absent in
   * sessions from before acknowledgements existed: those count from the object's wake-up.
   */
  acked?: number;
}

interface MessageRow extends Record<string, number | string | null> {
  id: number;
  userId: string;
  name: string;
  text: string;
  at: number;
  clientId: string | null;
}

const MESSAGE_COLUMNS = "id, user_id AS userId, name, text, at, client_id AS clientId";

/** The room's timed work: the idle purge. */
type RoomTasks = { purge: () => void };

/**
 * One chat room. Messages are rows in SQLite; who is connected is the set of hibernatable sockets
 * and their attachments; the only timer is the idle purge, kept in the shared alarm queue. Its
 * log lines never carry a message's text nor a token (see "Operating it" in the README).
 */
export class ChatRoom extends SqlDurableObject<Env, RoomTasks> {
  // cache: whether the room's tables exist. Set by ensureRoom() (which the constructor runs, so a
  // wake-up sets it again), cleared by a purge that succeeded.
  private tablesCache = false;
  private epochCache: string | null = null;
  // Set by the purge task when it found the room idle; alarm() then checks again and deletes
  // everything. Any join, message or departure clears it.
  // eslint-disable-next-line durable/no-memory-only-state -- a hint, safe to lose: alarm() checks idleAt() itself before deleteAll(), and the purge task stays in storage until it succeeds
  private purgeDue = false;
  // Slow consumers (see MAX_UNACKED_BYTES). Bytes broadcast since this instance started (each
  // frame counted once: every open socket was sent it), the count as it stood right after each
  // recent message, and per socket its last acknowledged message id and the count as it stood then
  // (or at its join): read from the attachment once per wake-up, not per broadcast. Memory only:
  // after a wake-up a socket's bytes count from there, its message ids still exactly.
  // eslint-disable-next-line durable/no-memory-only-state -- memory only by design: after a wake-up each socket counts from there (its message ids stay exact in its attachment)
  private sentBytes = 0;
  private readonly sentThrough = new Map<number, number>();
  private readonly acks = new WeakMap<WebSocket, { id: number; bytes: number }>();
  private newestCache: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, "chat-room");
    this.ensureRoom();
    answerPings(ctx);
  }

  /** A wake-up that only reads (a count, a history page, a join) never builds the queue. */
  protected tasks(): RoomTasks {
    return { purge: () => this.purgeIfIdle() };
  }

  /** Messages ever posted to the room (ids are never reused, so this is the newest id). Reads one row. */
  count(): number {
    return this.log.op("count", () => {
      this.ensureRoom();
      return this.newest();
    });
  }

  /** Up to `limit` messages older than `before` (all when absent), newest first, and the next page's `before`. */
  messages(before: number | undefined, limit: number): { messages: ChatMessage[]; next: number | null } {
    return this.log.op("messages", () => {
      this.ensureRoom();
      const rows = this.sql.all<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id < ? ORDER BY id DESC LIMIT ?`,
        before ?? Number.MAX_SAFE_INTEGER,
        limit + 1,
      );
      const messages = rows.slice(0, limit).map(toMessage);
      return { messages, next: rows.length > limit ? messages.at(-1)!.id : null };
    });
  }

  /**
   * All timed work runs through the shared alarm queue, the only code that sets the alarm. Then,
   * if the purge task found the room idle, everything is deleted (after the same check again).
   */
  override async alarm(info?: AlarmInvocationInfo): Promise<void> {
    // An alarm after this instance's own purge (a second alarm() that ran alongside it) finds the
    // room as any other use would: created again, with its idle purge.
    this.ensureRoom();
    await super.alarm(info);
    if (!this.purgeDue) return;
    // Checked again, here: the run above may have awaited (a retried run commits each task's
    // attempt first), and a deleteAll() that failed leaves the flag set for the platform's retry
    // of this alarm, by which time someone may have come in. Nothing but synchronous code runs
    // between this check and the deleteAll() call, so nobody can join in between.
    if (!this.idleAt(this.clock())) {
      this.purgeDue = false; // the purge task is still scheduled, and will check again
      return;
    }
    // From compatibility date 2026-02-24 this also deletes the alarm: nothing of the room is left.
    // Should it throw, the purge task the check left behind is still in storage (see
    // purgeIfIdle), and the flag is set again for the platform's retry, which checks again first.
    this.purgeDue = false; // an alarm() running alongside this one does not delete twice
    try {
      // Its own line: a purge that failed is an error line before the platform retries the alarm.
      await this.log.op("purge", () => this.ctx.storage.deleteAll());
    } catch (error) {
      this.purgeDue = true;
      throw error;
    }
    // The tables are not created again here: a purged room holds nothing (no tables, no alarm)
    // until it is used again, when ensureRoom() starts it over with a new epoch.
    this.forgetQueue();
    this.tablesCache = false;
    this.epochCache = null;
    this.newestCache = null;
    this.sentThrough.clear();
  }

  /**
   * Only WebSocket upgrades arrive here; everything else is RPC. The Worker has validated the
   * query (objects trust their callers, and only the Worker makes HTTP errors): parsed again for
   * its types, a query that fails is the Worker's bug and throws, which the Worker logs and
   * answers with a 500.
   */
  override async fetch(request: Request): Promise<Response> {
    const query = JoinQuery.parse(Object.fromEntries(new URL(request.url).searchParams));
    return this.log.op("join", () => this.join(query)).response;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Once the room has decided to close a socket (a flood, a bad frame), the frames the client
    // had already sent still arrive. They are dropped before any work: nothing parsed, no
    // attachment written, nothing stored.
    if (ws.readyState !== WebSocket.OPEN) return;
    const frame = parseFrame(ClientMessage, message, { maxBytes: MAX_FRAME_BYTES, knownTypes: CLIENT_MESSAGE_TYPES });
    // Binary, oversized and foreign frames close the socket whatever the rate.
    if (!frame.ok && "close" in frame) return rejectFrame(ws, frame);
    const session = attachmentOf<Session>(ws);
    if (!session) return closeWebSocket(ws, CloseCode.policy, "not joined");
    // An acknowledgement of messages not acknowledged before is free: there can be no more of
    // them than the room broadcasts. Any other frame counts against the rate, an ack that
    // acknowledges nothing new and garbage included, so a flood of either is closed as well.
    if (frame.ok && frame.data.type === "ack" && this.acknowledge(ws, session, frame.data.id)) return;
    const now = this.clock();
    const rate = checkRate(session.rate, RATE_LIMIT, now);
    if (rate.verdict === "close") return closeWebSocket(ws, CloseCode.policy, "rate_limited");
    ws.serializeAttachment({ ...session, rate: rate.state } satisfies Session);
    if (rate.verdict === "warn") {
      sendJson(ws, {
        type: "error",
        code: "rate_limited",
        detail: `At most ${RATE_LIMIT.messages} messages per ${RATE_LIMIT.windowMs / 1000} s; try again in ${Math.ceil(rate.retryAfterMs / 1000)} s. Warning ${rate.warning} of ${RATE_LIMIT.warnings}.`,
      } satisfies ServerMessage);
      return;
    }
    if (!frame.ok) return rejectFrame(ws, frame);
    if (frame.data.type === "ack") {
      // An old or repeated id was counted above and needs nothing more; an id from the future is a bug.
      if (frame.data.id > this.newest()) {
        sendJson(ws, {
          type: "error",
          code: "invalid_ack",
          detail: `Message ${frame.data.id} does not exist yet; acknowledge the newest id you received.`,
        } satisfies ServerMessage);
      }
      return;
    }
    const { text, clientId } = frame.data;
    // Logged as one "message" line with its rows; the line never holds the text.
    this.log.op("message", () => this.store(ws, session, text, clientId, now));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    reciprocateClose(ws, code, reason);
    this.leave(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.leave(ws);
  }

  /** Accepts a socket for `query.name`, or (the room full) only to close it with the reason. */
  private join(
    query: JoinQuery,
  ): { ok: true; response: Response } | { ok: false; reason: "room_full"; response: Response } {
    this.ensureRoom();
    const now = this.clock();
    if (this.openSockets().length >= MAX_CONNECTIONS) {
      // Accepted only to say why: a browser's WebSocket cannot read an HTTP refusal, but it can
      // read a close code and reason, and the page then waits longer before trying again.
      const { response, socket } = acceptWebSocket(this.ctx);
      sendJson(socket, {
        type: "error",
        code: "room_full",
        detail: `The room already has ${MAX_CONNECTIONS} people in it. Try again later.`,
      } satisfies ServerMessage);
      closeWebSocket(socket, CloseCode.policy, "room_full");
      return { ok: false, reason: "room_full", response };
    }
    this.purgeDue = false; // someone is here: a purge decided before now no longer holds
    const user: User = { id: crypto.randomUUID(), name: query.name, joinedAt: now };
    const { response, socket } = acceptWebSocket(this.ctx, {
      // The welcome carries what the newcomer needs; it is behind by nothing yet.
      attachment: { user, rate: initialRate(), acked: this.newest() } satisfies Session,
    });
    const epoch = this.epoch();
    const { after, epoch: knownEpoch } = query;
    const reset = knownEpoch !== undefined && knownEpoch !== epoch;
    const { history, truncated } = after !== undefined && !reset ? this.missedSince(after) : this.recent();
    sendJson(socket, {
      type: "welcome",
      you: user,
      epoch,
      history,
      present: this.present(),
      truncated,
      reset,
    } satisfies ServerMessage);
    this.publish({ type: "join", user }, socket);
    this.acks.set(socket, { id: this.newest(), bytes: this.sentBytes });
    metric(this.env, { index: "chat-room:connection", blobs: ["open"] });
    return { ok: true, response };
  }

  /**
   * Stores a message and broadcasts it, or answers a resend with the original (outcome "resend").
   */
  private store(
    ws: WebSocket,
    session: Session,
    text: string,
    clientId: string | undefined,
    now: number,
  ): { ok: true } | { ok: false; reason: "resend" } {
    this.ensureRoom();
    this.purgeDue = false;
    // A resend: the original was stored (its acknowledgement may have been lost in a crash or a
    // drop). It is answered to the sender alone with the original message, the same id, and
    // nothing is stored or broadcast; the others had it already (or get it on their resume).
    // The lookup and the insert below are synchronous: no resend can slip in between.
    if (clientId !== undefined) {
      const original = this.sql.one<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE client_id = ? AND at > ? ORDER BY id DESC LIMIT 1`,
        clientId,
        now - CLIENT_ID_WINDOW_MS,
      );
      if (original) {
        sendJson(ws, { type: "message", ...toMessage(original) } satisfies ServerMessage);
        return { ok: false, reason: "resend" };
      }
    }
    this.newestCache = null; // the insert below is the newest, whatever the cache said
    const stored = this.sql.one<MessageRow>(
      `INSERT INTO messages (user_id, name, text, at, client_id) VALUES (?, ?, ?, ?, ?) RETURNING ${MESSAGE_COLUMNS}`,
      session.user.id,
      session.user.name,
      text,
      now,
      clientId ?? null,
    )!;
    this.newestCache = stored.id;
    this.publish({ type: "message", ...toMessage(stored) });
    // doubles: the text's size in bytes (UTF-8), never the text
    metric(this.env, { index: "chat-room:message", doubles: [encoder.encode(text).byteLength] });
    return { ok: true };
  }

  /**
   * The one place that makes sure the room's tables exist: they are created by the constructor,
   * and again on the first use after a purge deleted them (a purged room holds nothing until it is
   * used). Every entry point that reads or writes the room calls it first. Reads nothing when this
   * instance knows they exist; otherwise the migrations' history check reads one row per step.
   */
  private ensureRoom(): void {
    if (this.tablesCache) return;
    const { applied } = migrate(this.ctx.storage, migrations);
    this.tablesCache = true;
    // A room that has just been created is deleted once idle, even if nobody ever joins it.
    if (applied.length > 0) this.schedulePurge(this.clock() + IDLE_PURGE_MS);
  }

  /**
   * The purge task. A message schedules nothing (it would cost a write per message); instead the
   * task checks, when it fires, whether the room is still idle, and comes back later if not.
   */
  private purgeIfIdle(): void {
    const now = this.clock();
    if (this.openSockets().length > 0) return this.schedulePurge(now + IDLE_PURGE_MS);
    // Today this never defers: messages only come from sockets, and the last socket leaving
    // reschedules the task past its last message. It keeps the purge right if messages ever
    // arrive another way (an HTTP route you add, say) or the clock steps back.
    const lastAt = this.newestAt();
    if (lastAt !== undefined && lastAt + IDLE_PURGE_MS > now) return this.schedulePurge(lastAt + IDLE_PURGE_MS);
    // Idle: alarm() deletes everything once this run is over. The task stays, a few minutes
    // ahead, until that has worked: should deleteAll() fail, or the object restart before it
    // runs, the room is still purged (after the same checks).
    this.schedulePurge(now + PURGE_RETRY_MS);
    this.purgeDue = true;
  }

  /** Whether the room may be deleted at `now`: nobody connected, and no message for 30 minutes. */
  private idleAt(now: number): boolean {
    if (this.openSockets().length > 0) return false;
    const lastAt = this.newestAt();
    return lastAt === undefined || lastAt + IDLE_PURGE_MS <= now;
  }

  /** When the newest message was stored (one row read), or undefined when there is none. */
  private newestAt(): number | undefined {
    return this.sql.one<{ at: number }>("SELECT at FROM messages ORDER BY id DESC LIMIT 1")?.at;
  }

  /** One keyed task: scheduling again replaces it, so a room never has more than one. */
  private schedulePurge(at: number): void {
    this.queue.schedule("purge", undefined, { at, key: "purge" });
  }

  private leave(ws: WebSocket): void {
    const session = attachmentOf<Session>(ws);
    if (!session) return; // refused (room full), or already left through webSocketError
    this.log.op("leave", () => this.depart(ws, session));
  }

  private depart(ws: WebSocket, session: Session): void {
    try {
      ws.serializeAttachment(null);
    } catch {
      // A socket that is already gone keeps its attachment; nothing else reads it.
    }
    this.purgeDue = false; // a departure restarts the 30 idle minutes
    this.publish({ type: "leave", user: session.user }, ws);
    // The room just emptied: it is purged 30 minutes from now unless someone comes back.
    if (this.openSockets().length === 0) {
      this.ensureRoom();
      this.schedulePurge(this.clock() + IDLE_PURGE_MS);
    }
    metric(this.env, { index: "chat-room:connection", blobs: ["close"] });
  }

  /**
   * Sends a frame to every open socket but `except`, then closes any socket now too far behind
   * its acknowledgements (see MAX_UNACKED_BYTES): the room stops adding to what it cannot deliver.
   */
  private publish(message: ServerMessage, except?: WebSocket): void {
    const text = JSON.stringify(message);
    const reached = broadcastText(this.ctx, text, { except });
    this.sentBytes += encoder.encode(text).byteLength;
    if (message.type === "message") {
      this.sentThrough.set(message.id, this.sentBytes);
      // Older entries serve no socket: one acknowledged that long ago is closed by its message count.
      if (this.sentThrough.size > MAX_UNACKED_MESSAGES) this.sentThrough.delete(message.id - MAX_UNACKED_MESSAGES);
    }
    const newest = this.newest();
    for (const ws of reached) {
      const ack = this.ackOf(ws, newest);
      if (!ack) continue;
      if (newest - ack.id > MAX_UNACKED_MESSAGES || this.sentBytes - ack.bytes > MAX_UNACKED_BYTES) {
        closeWebSocket(ws, CloseCode.policy, "too_far_behind");
      }
    }
  }

  /**
   * Where `ws` stands in its acknowledgements. The first look after a wake-up reads its attachment
   * (the message id survives hibernation; the bytes count from the wake-up); later ones, memory.
   */
  private ackOf(ws: WebSocket, newest: number): { id: number; bytes: number } | null {
    const known = this.acks.get(ws);
    if (known) return known;
    const session = attachmentOf<Session>(ws);
    if (!session) return null; // refused (room full) or already left
    const ack = { id: session.acked ?? newest, bytes: 0 };
    this.acks.set(ws, ack);
    return ack;
  }

  /**
   * Records that the client has read up to message `id`. Returns false when that acknowledges
   * nothing new (an old or repeated id) or a message that does not exist yet.
   */
  private acknowledge(ws: WebSocket, session: Session, id: number): boolean {
    if (id <= (session.acked ?? 0) || id > this.newest()) return false;
    ws.serializeAttachment({ ...session, acked: id } satisfies Session);
    // Bytes sent after message `id` are still unread. A message from before this instance's
    // wake-up is not in the map: counting from the wake-up is all that is known.
    this.acks.set(ws, { id, bytes: id === this.newest() ? this.sentBytes : (this.sentThrough.get(id) ?? 0) });
    return true;
  }

  /** The newest message id (ids are never reused: the number of messages ever posted), 0 for none. */
  private newest(): number {
    this.newestCache ??= this.sql.one<{ id: number }>("SELECT id FROM messages ORDER BY id DESC LIMIT 1")?.id ?? 0;
    return this.newestCache;
  }

  private openSockets(): WebSocket[] {
    return this.ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN);
  }

  private present(): User[] {
    return this.openSockets().flatMap((ws) => attachmentOf<Session>(ws)?.user ?? []);
  }

  private epoch(): string {
    this.epochCache ??= this.sql.one<{ epoch: string }>("SELECT epoch FROM room WHERE id = 1")!.epoch;
    return this.epochCache;
  }

  private recent(): { history: ChatMessage[]; truncated: boolean } {
    const rows = this.sql.all<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages ORDER BY id DESC LIMIT ?`,
      RECENT_MESSAGES,
    );
    return { history: rows.reverse().map(toMessage), truncated: false };
  }

  /**
   * The messages after `after`, oldest first: all of them, or the newest that fit in
   * {@link MAX_RESUME_MESSAGES} and {@link MAX_RESUME_BYTES}, with `truncated` set.
   */
  private missedSince(after: number): { history: ChatMessage[]; truncated: boolean } {
    const rows = this.sql.all<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id > ? ORDER BY id DESC LIMIT ?`,
      after,
      MAX_RESUME_MESSAGES + 1,
    );
    const history: ChatMessage[] = [];
    let bytes = 0;
    for (const row of rows.slice(0, MAX_RESUME_MESSAGES)) {
      const message = toMessage(row);
      bytes += encoder.encode(JSON.stringify(message)).byteLength + 1;
      if (bytes > MAX_RESUME_BYTES) break;
      history.push(message);
    }
    return { history: history.reverse(), truncated: history.length < rows.length };
  }
}

const encoder = new TextEncoder();

function toMessage(row: MessageRow): ChatMessage {
  const message: ChatMessage = { id: row.id, userId: row.userId, name: row.name, text: row.text, at: row.at };
  if (row.clientId !== null) message.clientId = row.clientId;
  return message;
}
