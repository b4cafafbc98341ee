/** Small clients for the tests: HTTP through the Worker with the token, and a WebSocket client. */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { json, type SocketClient, socketClient, storageCost, uniqueName } from "../src/shared/testing";

// Shared with the other apps' tests; imported from here like the rest.
export { json } from "../src/shared/testing";
import type { RateLimiter } from "../src/rate-limiter-object";

export const TOKEN = "test-token";
/** A key no other test uses, so tests never share an object. */
export const uniqueKey = (prefix = "k") => uniqueName(prefix);

/** Calls the Worker as any HTTP client would, with the bearer token unless `init` sets its own. */
export function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${TOKEN}`);
  return exports.default.fetch(`https://limiter.example${path}`, { ...init, headers });
}

/** POST /api/check. */
export function check(body: unknown): Promise<Response> {
  return api("/api/check", json("POST", body));
}

/** The object of `key`, for runInDurableObject. */
export function stub(key: string) {
  return env.RATE_LIMITER.getByName(key);
}

/** Sets the object's clock to a fixed instant (ms); returns a function that moves it. */
export async function freezeClock(key: string, at: number): Promise<(to: number) => Promise<void>> {
  const set = (to: number) => runInDurableObject(stub(key), (limiter: RateLimiter) => void (limiter.clock = () => to));
  await set(at);
  return set;
}

/** Runs `operation` and returns the rows the key's object read and wrote for it. */
export const cost = (key: string, operation: () => Promise<unknown>) => storageCost(stub(key), operation);

export type Client = SocketClient;

/** Opens the key's quota WebSocket and collects what the server sends. */
export async function connect(key: string, init: RequestInit = {}, path?: string): Promise<Client> {
  const headers = new Headers(init.headers);
  headers.set("upgrade", "websocket");
  const response = await api(path ?? `/api/keys/${key}/websocket`, { ...init, headers });
  return socketClient(response);
}
