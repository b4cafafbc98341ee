/** Small clients for the tests: HTTP through the Worker, and a WebSocket that queues messages. */
import { env, exports } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { Counter } from "../src/counter-object";
import { type SocketClient, socketClient } from "../src/shared/testing";

// Shared with the other apps' tests; imported from here like the rest.
export { json, uniqueName } from "../src/shared/testing";

/** Calls the Worker as any HTTP client would. */
export function api(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`https://counter.example${path}`, init);
}

export type Client = SocketClient;

/** Opens the counter's WebSocket and collects what the server sends. */
export async function connect(name: string): Promise<Client> {
  return socketClient(await api(`/api/counters/${name}/websocket`, { headers: { upgrade: "websocket" } }));
}

/** Moves the counter's queue clock to `at` and fires its alarm (waiting for 03:00 is no option). */
export async function fireAt(name: string, at: number) {
  const stub = env.COUNTER.getByName(name);
  await runInDurableObject(stub, (counter: Counter) => {
    counter.clock = () => at;
  });
  return runDurableObjectAlarm(stub);
}
