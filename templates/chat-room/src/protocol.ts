/**
 * What the chat room's HTTP routes and WebSocket accept and send. The Worker, the Durable Object
 * and the tests use these, so the contract is written once (the web page mirrors the limits).
 */
import { z } from "zod";

/** Longest message text, in characters (UTF-16 code units, as JavaScript counts them). */
export const MAX_TEXT_LENGTH = 2_000;

/**
 * Largest frame a client may send, in UTF-8 bytes; bigger frames close the socket with 1009.
 * The longest valid message (2,000 characters of at most 3 UTF-8 bytes each, plus the JSON
 * around them) stays under it, so a frame this big is never a legitimate message.
 */
export const MAX_FRAME_BYTES = 8 * 1024;

/** Most messages a welcome carries when the client resumes with `after`; beyond, `truncated`. */
export const MAX_RESUME_MESSAGES = 1_000;

/**
 * Most bytes of history a welcome carries when resuming, as UTF-8 JSON; beyond, `truncated`.
 * 1,000 messages of 2,000 three-byte characters would be a 6 MB frame, more than many clients
 * (and Workers, which receive at most 1 MiB per message by default) accept.
 */
export const MAX_RESUME_BYTES = 512 * 1024;

/** Messages in a welcome for a client that does not resume. */
export const RECENT_MESSAGES = 50;

/** Most sockets one room accepts at once; one more is accepted and closed with 1008. */
export const MAX_CONNECTIONS = 100;

/**
 * Refused (rate-limited) frames a connection is warned about within 10 s (`RATE_LIMIT.windowMs`)
 * of the first; one more in that window closes the socket with 1008.
 */
export const MAX_RATE_WARNINGS = 3;

/**
 * Per connection: at most `messages` frames in any `windowMs` (GCRA, burst allowed), and at most
 * `warnings` refusals within `windowMs` of the first (see rate-limit.ts).
 */
export const RATE_LIMIT = { messages: 20, windowMs: 10_000, warnings: MAX_RATE_WARNINGS } as const;

/**
 * Slow consumers. The runtime does not tell how much a socket has waiting to be sent (no
 * `bufferedAmount`), so clients acknowledge what they have read: `{"type":"ack","id"}` with the
 * newest message id they received, at least every {@link ACK_EVERY_MESSAGES} messages or
 * {@link ACK_EVERY_BYTES} bytes received, and with each heartbeat. A socket more than
 * `MAX_UNACKED_MESSAGES` messages or `MAX_UNACKED_BYTES` bytes of broadcasts behind its last
 * acknowledgement is closed with 1008 `too_far_behind`; it reconnects and resumes with `after`.
 * So a client that stops reading (a frozen tab, a dead network) holds at most this much of the
 * room's memory: 100 connections at 512 KiB are 50 MiB at worst, not unbounded.
 */
export const MAX_UNACKED_MESSAGES = 1_000;
export const MAX_UNACKED_BYTES = 512 * 1024;
/** How often a client should acknowledge (the web page does): well inside the limits above. */
export const ACK_EVERY_MESSAGES = 32;
export const ACK_EVERY_BYTES = 64 * 1024;

/** A room is deleted this long after its last message or its last departure, whichever is later. */
export const IDLE_PURGE_MS = 30 * 60_000;

/**
 * When the purge finds the room idle it first moves its task this far ahead, then deletes. Should
 * `deleteAll()` fail, that task is still there and checks again (the platform retries the alarm
 * sooner, with the same checks).
 */
export const PURGE_RETRY_MS = 5 * 60_000;

/**
 * How long a `clientId` is remembered: a message sent again with the clientId of one the room
 * stored less than this long ago is answered with that message instead of being stored again.
 * Longer than any reconnect of a page that is still open (and a room idle for 30 minutes is
 * purged anyway, taking its clientIds with it).
 */
export const CLIENT_ID_WINDOW_MS = 24 * 60 * 60_000;

/**
 * A client's id for one message it sends, so that sending it again (after a drop, before the
 * acknowledgement arrived) is safe: 1 to 64 characters of `A-Z a-z 0-9 _ -` (a UUID fits).
 */
export const ClientId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 _ -");

/** Whether `text` holds a C0 control character or DEL, other than those in `allowed`. */
function hasControl(text: string, allowed = ""): boolean {
  for (const char of text) {
    const code = char.charCodeAt(0);
    if ((code < 0x20 || code === 0x7f) && !allowed.includes(char)) return true;
  }
  return false;
}

/** A display name: trimmed, 1 to 32 characters, no control characters. */
export const DisplayName = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(32, "must be at most 32 characters")
  .refine((name) => !hasControl(name), "must not contain control characters");

/**
 * Text of a chat message: trimmed, 1 to 2,000 characters, no control characters but \n and \t,
 * and well-formed Unicode. JSON can escape half a surrogate pair (`"\ud800"`); SQLite keeps text
 * as UTF-8, which has no such character, and reads it back as three U+FFFD: the stored message
 * would differ from the acknowledged one and could exceed the length limit threefold.
 */
export const MessageText = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(MAX_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`)
  .refine((text) => !hasControl(text, "\n\t"), "must not contain control characters")
  .refine((text) => text.isWellFormed(), "must not contain lone surrogates (invalid UTF-16)");

/** A message id, as it appears in `after` and `before` query parameters. */
const MessageId = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Query of `GET /api/rooms/:room/websocket`. */
export const JoinQuery = z.object({
  name: DisplayName,
  /** The last message id the client saw: the welcome then carries exactly the ones after it. */
  after: MessageId.optional(),
  /** The room's `epoch` from the welcome that `after` belongs to; a different epoch means the room was purged. */
  epoch: z.string().max(64).optional(),
  /** Required when the Worker has a CHAT_SECRET (see tokens.ts). */
  token: z.string().max(256).optional(),
});
export type JoinQuery = z.output<typeof JoinQuery>;

/** Query of `GET /api/rooms/:room/messages`. */
export const HistoryQuery = z.object({
  /** Only messages with a smaller id; absent means from the newest. */
  before: MessageId.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/** Body of `POST /api/rooms/:room/tokens`. */
export const TokenBody = z.strictObject({ name: DisplayName });

/** Messages a client may send over the WebSocket. */
export const ClientMessage = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("message"), text: MessageText, clientId: ClientId.optional() }),
  /** The newest message id the client has received (see {@link MAX_UNACKED_BYTES}). */
  z.strictObject({ type: z.literal("ack"), id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
]);
export type ClientMessage = z.output<typeof ClientMessage>;
/** The `type`s above, read from the schema so the two cannot drift apart (a frame of another type is closed 1003). */
export const CLIENT_MESSAGE_TYPES = ClientMessage.options.map((option) => option.shape.type.value);

/** Who is connected: one entry per socket (a person with two tabs is present twice). */
export interface User {
  /** Random per connection. */
  id: string;
  name: string;
  /** Epoch ms. */
  joinedAt: number;
}

/** A stored chat message. Ids increase strictly within a room (until the room is purged). */
export interface ChatMessage {
  id: number;
  /** The sender's connection id (`User.id`). */
  userId: string;
  name: string;
  text: string;
  /** Epoch ms when the room stored it. */
  at: number;
  /** The `clientId` it was sent with, if any: a sender recognises its acknowledgement by it. */
  clientId?: string;
}

/** Messages the server sends over the WebSocket. */
export type ServerMessage =
  | {
      type: "welcome";
      you: User;
      /** Changes when the room is purged and starts over; send it back with `after` when resuming. */
      epoch: string;
      /** Oldest first. */
      history: ChatMessage[];
      present: User[];
      /** True when more messages were missed than `history` holds (page back with `before`). */
      truncated: boolean;
      /** True when `epoch` did not match: the room was purged, forget what you showed. */
      reset: boolean;
    }
  | ({ type: "message" } & ChatMessage)
  | { type: "join"; user: User }
  | { type: "leave"; user: User }
  | { type: "error"; code: string; detail: string; errors?: { path: string; message: string }[] };
