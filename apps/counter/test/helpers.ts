/** Small clients for the tests: HTTP through the Worker, and a WebSocket that queues messages. */
import { exports } from "cloudflare:workers";

let sequence = 0;

/** A counter name no other test uses, so tests never share an object. */
export function uniqueName(prefix = "c"): string {
  return `${prefix}-${Date.now().toString(36)}-${(sequence++).toString(36)}`;
}

/** Calls the Worker as any HTTP client would. */
export function api(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`https://counter.example${path}`, init);
}

/** Sends a JSON body with the right content type. */
export function json(method: string, body: unknown): RequestInit {
  return { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

export interface Client {
  socket: WebSocket;
  /** The next message, parsed as JSON (or as text when it is not JSON). */
  next(): Promise<unknown>;
  /** Resolves with the close event's code and reason once the server closes. */
  closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
}

/** Opens the counter's WebSocket and collects what the server sends. */
export async function connect(name: string): Promise<Client> {
  const response = await api(`/api/counters/${name}/websocket`, { headers: { upgrade: "websocket" } });
  const socket = response.webSocket;
  if (!socket) throw new Error(`expected a WebSocket upgrade, got ${response.status}: ${await response.text()}`);
  socket.accept();
  const queue: unknown[] = [];
  const waiting: ((message: unknown) => void)[] = [];
  socket.addEventListener("message", (event) => {
    const text = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data);
    let message: unknown = text;
    try {
      message = JSON.parse(text);
    } catch {
      // "pong" and other plain text frames stay strings.
    }
    const resolve = waiting.shift();
    if (resolve) resolve(message);
    else queue.push(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })),
  );
  return {
    socket,
    closed,
    next: () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve))),
    send: (message) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
  };
}
