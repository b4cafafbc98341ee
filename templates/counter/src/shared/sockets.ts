// Vendored from durable-patterns packages/shared/src/sockets.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * Helpers for hibernatable WebSockets in a Durable Object.
 *
 * Only the hibernation API is used (`ctx.acceptWebSocket` and the class's `webSocketMessage` /
 * `webSocketClose` handlers): an idle object with open sockets is then evicted from memory and
 * costs nothing until a message arrives. Per-socket state lives in the socket's attachment
 * (serialized, at most 16 KiB), because every field of the object is lost on hibernation.
 *
 * @example
 * ```ts
 * async fetch(request: Request) {
 *   const { response, socket } = acceptWebSocket(this.ctx, { tags: ["viewer"] });
 *   sendJson(socket, { type: "hello" });
 *   return response;
 * }
 * webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
 *   const frame = parseFrame(ClientMessage, message, { maxBytes: 1024 });
 *   if (!frame.ok) return rejectFrame(ws, frame);
 *   ...
 * }
 * webSocketClose(ws: WebSocket, code: number, reason: string) {
 *   reciprocateClose(ws, code, reason);
 * }
 * ```
 */
import type { z } from "zod";
import { describeIssues, issuesOf } from "./http";

/** Close codes this project uses (RFC 6455, section 7.4.1). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  /** The frame's data type or message type is not supported (binary, unknown `type`). */
  unsupported: 1003,
  /** Policy violation: rate limits, auth. */
  policy: 1008,
  /** The frame is larger than the server accepts. */
  tooBig: 1009,
  internalError: 1011,
} as const;

/**
 * Accepts the server side of a new socket with the hibernation API. Returns the 101 response that
 * hands the client side to the caller, and the server side, to which the object may send a
 * greeting right away (it is delivered once the client is connected).
 *
 * @param options.tags labels for {@link broadcast} and `ctx.getWebSockets(tag)` (max 10, 256 chars each)
 * @param options.attachment per-socket state that survives hibernation
 */
export function acceptWebSocket(
  ctx: DurableObjectState,
  options: { tags?: string[]; attachment?: unknown } = {},
): { response: Response; socket: WebSocket } {
  const { 0: client, 1: server } = new WebSocketPair();
  ctx.acceptWebSocket(server, options.tags);
  if (options.attachment !== undefined) server.serializeAttachment(options.attachment);
  return { response: new Response(null, { status: 101, webSocket: client }), socket: server };
}

/** The attachment stored on a socket by {@link acceptWebSocket}, typed by the caller. */
export function attachmentOf<T>(ws: WebSocket): T | null {
  return (ws.deserializeAttachment() as T | null) ?? null;
}

/**
 * Sends a JSON message if the socket is open. Returns whether it was sent: a socket that is
 * closing or closed is skipped rather than throwing in the middle of a broadcast.
 */
export function sendJson(ws: WebSocket, message: unknown): boolean {
  return sendText(ws, JSON.stringify(message));
}

function sendText(ws: WebSocket, text: string): boolean {
  if (ws.readyState !== WebSocket.OPEN) return false;
  try {
    ws.send(text);
    return true;
  } catch {
    // The peer went away between the state check and the send; nothing to deliver to.
    return false;
  }
}

/** The tag of a watcher: a socket that only follows an object's state (see {@link acceptWatcher}). */
export const WATCHER_TAG = "watcher";

/**
 * Accepts a watcher: a hibernatable socket that follows the object's state (the counter's value,
 * a key's quota, an instance's progress) and is sent `state`, that state as it stands, at once;
 * then whatever {@link publishToWatchers} sends.
 */
export function acceptWatcher(ctx: DurableObjectState, state: unknown): Response {
  const { response, socket } = acceptWebSocket(ctx, { tags: [WATCHER_TAG] });
  sendJson(socket, state);
  return response;
}

/**
 * Sends what `build` returns to every open watcher, and calls it only when there is one: a change
 * nobody watches costs one `getWebSockets()` call, no JSON, and no read `build` would have made.
 * `build` returns null when there is nothing to send. Returns how many watchers it reached.
 */
export function publishToWatchers(ctx: DurableObjectState, build: () => unknown): number {
  const watchers = ctx.getWebSockets(WATCHER_TAG);
  if (watchers.length === 0) return 0;
  const message = build();
  if (message === null) return 0;
  const text = JSON.stringify(message);
  let reached = 0;
  for (const ws of watchers) if (sendText(ws, text)) reached++;
  return reached;
}

/**
 * Sends one JSON message to every open socket of the object (or only those with `tag`),
 * except `except`. Serializes once. Returns how many sockets it reached.
 */
export function broadcast(
  ctx: DurableObjectState,
  message: unknown,
  options: { tag?: string; except?: WebSocket } = {},
): number {
  return broadcastText(ctx, JSON.stringify(message), options).length;
}

/**
 * {@link broadcast} of a frame already serialized, for a caller that also needs the text (to
 * count the bytes it sends, say). Returns the sockets it reached, so that caller need not list
 * the open sockets a second time.
 */
export function broadcastText(
  ctx: DurableObjectState,
  text: string,
  options: { tag?: string; except?: WebSocket } = {},
): WebSocket[] {
  const reached: WebSocket[] = [];
  for (const ws of ctx.getWebSockets(options.tag)) {
    if (ws !== options.except && sendText(ws, text)) reached.push(ws);
  }
  return reached;
}

/**
 * Answers the text frame `ping` with `pong` inside the runtime, without waking the object, so
 * client heartbeats keep connections alive at no cost.
 */
export function answerPings(ctx: DurableObjectState, request = "ping", response = "pong"): void {
  ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(request, response));
}

/** What {@link parseFrame} decided about a frame the client sent. */
export type FrameResult<T> =
  | { ok: true; data: T }
  | { ok: false; close: { code: number; reason: string } }
  | { ok: false; error: { type: "error"; code: string; detail: string; errors?: { path: string; message: string }[] } };

/**
 * Decodes a client frame as JSON and validates it with `schema`.
 *
 * - binary frames: close 1003 (this protocol is JSON text);
 * - over `maxBytes`: close 1009;
 * - malformed JSON or a message that fails the schema: an `error` message, socket stays open;
 * - a `type` not in `knownTypes` (when given): close 1003, the client speaks another protocol.
 */
export function parseFrame<S extends z.ZodType>(
  schema: S,
  message: string | ArrayBuffer,
  options: { maxBytes: number; knownTypes?: readonly string[] },
): FrameResult<z.output<S>> {
  if (typeof message !== "string") {
    return { ok: false, close: { code: CloseCode.unsupported, reason: "binary frames are not supported" } };
  }
  // Upper bound first (UTF-16 length * 3 >= UTF-8 bytes) so the common case does not encode.
  if (message.length * 3 > options.maxBytes && new TextEncoder().encode(message).byteLength > options.maxBytes) {
    return { ok: false, close: { code: CloseCode.tooBig, reason: `message larger than ${options.maxBytes} bytes` } };
  }
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return { ok: false, error: { type: "error", code: "malformed_json", detail: "The message is not valid JSON." } };
  }
  if (options.knownTypes && !options.knownTypes.includes((json as { type?: unknown } | null)?.type as string)) {
    return {
      ok: false,
      close: { code: CloseCode.unsupported, reason: `unknown message type; expected ${options.knownTypes.join(", ")}` },
    };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const errors = issuesOf(result.error);
    return {
      ok: false,
      error: {
        type: "error",
        code: "invalid_message",
        detail: describeIssues(errors),
        errors,
      },
    };
  }
  return { ok: true, data: result.data };
}

/** Acts on a refused frame: closes with its code or sends its error message. */
export function rejectFrame(ws: WebSocket, result: Extract<FrameResult<unknown>, { ok: false }>): void {
  if ("close" in result) closeWebSocket(ws, result.close.code, result.close.reason);
  else sendJson(ws, result.error);
}

/** Closes a socket unless it is already closing; the reason is cut to the 123 bytes allowed. */
export function closeWebSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) return;
  try {
    ws.close(code, truncateUtf8(reason, 123));
  } catch {
    // Already closed by the peer in the meantime.
  }
}

/**
 * Completes the closing handshake from `webSocketClose`. A hibernatable socket whose peer sent
 * Close is still CLOSING when the handler runs (the runtime's automatic Close reply from
 * compatibility date 2026-04-07 covers `accept()`ed sockets, not hibernated ones), so without
 * this reply the client never sees its close complete and reports 1006 (abnormal closure).
 * Codes that may not be sent (1005 "no status", 1006 "abnormal") are answered with 1000.
 */
export function reciprocateClose(ws: WebSocket, code: number, reason: string): void {
  const sendable =
    code === 1000 || (code >= 3000 && code <= 4999) || (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006);
  if (ws.readyState === WebSocket.CLOSED) return;
  try {
    ws.close(sendable ? code : CloseCode.normal, truncateUtf8(reason, 123));
  } catch {
    // The connection is already gone; there is nobody to reply to.
  }
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength <= maxBytes) return text;
  return new TextDecoder().decode(bytes.slice(0, maxBytes)).replace(/\uFFFD$/, "");
}
