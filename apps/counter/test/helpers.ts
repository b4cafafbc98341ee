/** Small clients for the tests: HTTP through the Worker, and a WebSocket that queues messages. */
import { exports } from "cloudflare:workers";
import { type SocketClient, socketClient } from "@durable-patterns/shared/testing";

// Shared with the other apps' tests; imported from here like the rest.
export { json, uniqueName } from "@durable-patterns/shared/testing";

/** Calls the Worker as any HTTP client would. */
export function api(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`https://counter.example${path}`, init);
}

export type Client = SocketClient;

/** Opens the counter's WebSocket and collects what the server sends. */
export async function connect(name: string): Promise<Client> {
  return socketClient(await api(`/api/counters/${name}/websocket`, { headers: { upgrade: "websocket" } }));
}
