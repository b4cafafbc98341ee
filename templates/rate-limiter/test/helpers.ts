/**
 * Small clients for the tests: HTTP through the Worker with the token, a WebSocket client, and what
 * the purge tests read and do to a key's object (its storage, its alarm run as the platform runs
 * it, a failing `deleteAll()`).
 */
import { env, exports } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import {
  injectDeleteAllFault,
  json,
  once,
  type SocketClient,
  socketClient,
  storageCost,
  storageOf,
  type StoredState,
  uniqueName,
} from "../src/shared/testing";

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

/** What a key's object keeps: its tables and alarm, the names of its quota rows (overrides `~<policy>`), its queued tasks. */
export interface KeyStorage extends StoredState {
  quota: string[];
  tasks: string[];
}

/** What the key's object keeps in storage; a purged key keeps `{ alarm: null, tables: [], quota: [], tasks: [] }`. */
export async function keyStorage(key: string): Promise<KeyStorage> {
  const { tables, alarm } = await storageOf(stub(key));
  const names = (query: string) =>
    runInDurableObject(stub(key), (_limiter: RateLimiter, state) =>
      state.storage.sql
        .exec<{ name: string }>(query)
        .toArray()
        .map((row) => row.name),
    );
  return {
    alarm,
    tables,
    quota: tables.includes("quota") ? await names("SELECT name FROM quota ORDER BY name") : [],
    tasks: tables.includes("_alarm_queue_tasks") ? await names("SELECT name FROM _alarm_queue_tasks") : [],
  };
}

/**
 * Runs the key's alarm as the platform does: a first run, or with `retryCount` the platform's retry
 * of one that failed (the queue then retries its tasks at once, due or not). Its error message, or
 * null.
 */
export function runAlarm(key: string, retryCount = 0): Promise<string | null> {
  const run =
    retryCount === 0
      ? runDurableObjectAlarm(stub(key))
      : runInDurableObject(stub(key), (limiter: RateLimiter) =>
          limiter.alarm({ retryCount, isRetry: true, scheduledTime: Date.now() }),
        );
  return run.then(
    () => null,
    (error: unknown) => String(error),
  );
}

/** Makes the key's next `deleteAll()` (the purge of a key without overrides) fail once, as a storage fault would. */
export function failNextDeleteAll(key: string): Promise<void> {
  return runInDurableObject(stub(key), (_limiter: RateLimiter, state) =>
    injectDeleteAllFault(state.storage, once(), "injected: deleteAll() failed"),
  );
}
