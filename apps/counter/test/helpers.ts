/** Small clients for the tests: HTTP through the Worker, and a WebSocket that queues messages. */
import { exports } from "cloudflare:workers";
import { socketClient, type SocketClient } from "@durable-patterns/shared/testing";

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

export type Client = SocketClient;

/** Opens the counter's WebSocket and collects what the server sends. */
export async function connect(name: string): Promise<Client> {
  return socketClient(await api(`/api/counters/${name}/websocket`, { headers: { upgrade: "websocket" } }));
}
