/** Small clients for the tests: HTTP through the Worker, and a WebSocket that queues messages. */
import { injectDeleteAllFault, type SocketClient, socketClient, uniqueName } from "../src/shared/testing";

// Shared with the other apps' tests; imported from here like the rest.
export { json } from "../src/shared/testing";
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import type { ChatRoom } from "../src/chat-room-object";
import worker from "../src/index";
import type { ServerMessage } from "../src/protocol";

/** A room name no other test uses, so tests never share an object. */
export const uniqueRoom = (prefix = "r") => uniqueName(prefix);

/**
 * Join tokens on: the deployment under test has no CHAT_SECRET (every other test joins without a
 * token), so token tests call the same Worker with these secrets added to its env: the room's
 * signing secret and the credential of the backend that issues tokens (after its own login).
 */
export const TOKEN_SECRETS = { CHAT_SECRET: "test-secret-do-not-use", CHAT_ISSUER_SECRET: "issuer-secret-do-not-use" };
export const withTokens = { ...env, ...TOKEN_SECRETS } as Env;

/** Calls the Worker as `api` does, with join tokens on (`withTokens`, or the env given). */
export function callWithTokens(path: string, init?: RequestInit, withEnv: Env = withTokens): Promise<Response> {
  return Promise.resolve(
    worker.fetch(new Request(`https://chat.example${path}`, init), withEnv, createExecutionContext()),
  );
}

/** Calls the Worker as any HTTP client would. */
export function api(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`https://chat.example${path}`, init);
}

/** The room's object, for `runInDurableObject` and `evictDurableObject`. */
export function roomStub(room: string) {
  return env.CHAT_ROOM.getByName(room);
}

/** Sets the room object's clock to a fixed instant (epoch ms), as if that much time had passed. */
export function setClock(room: string, ms: number): Promise<void> {
  return runInDurableObject(roomStub(room), (instance: ChatRoom) => {
    instance.clock = () => ms;
  });
}

export interface Client extends SocketClient {
  /** The next message of `type`, skipping others (e.g. `join` events while waiting for a message). */
  nextOf<T extends ServerMessage["type"]>(type: T): Promise<Extract<ServerMessage, { type: T }>>;
  /** Closes from the client side and waits for the server's reply. */
  close(): Promise<void>;
}

/** Everything after `/api/rooms/:room/websocket?`: `name` is required. */
export type JoinParams = Record<string, string | number>;

/** Opens a room's WebSocket and collects what the server sends. */
export async function connect(room: string, query: JoinParams = { name: "Ada" }): Promise<Client> {
  const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const response = await api(`/api/rooms/${room}/websocket?${search}`, { headers: { upgrade: "websocket" } });
  const client = await socketClient(response);
  const next = client.next;
  return {
    ...client,
    async nextOf(type) {
      for (;;) {
        const message = (await next()) as ServerMessage;
        if (message.type === type) return message as never;
      }
    },
    async close() {
      client.socket.close(1000, "bye");
      await client.closed;
    },
  };
}

/** Joins and returns the client together with its welcome. */
export async function join(room: string, query: JoinParams = { name: "Ada" }) {
  const client = await connect(room, query);
  const welcome = await client.nextOf("welcome");
  return { client, welcome };
}

/** Sends a chat message and waits until the sender sees it stored and broadcast; returns it. */
export async function say(client: Client, text: string) {
  client.send({ type: "message", text });
  return client.nextOf("message");
}

/**
 * Posts `count` messages ("m1", "m2", ... unless `text` says otherwise) to `room`. Each connection may send 20 messages per
 * 10 s, so this opens a new connection every 20 messages instead of waiting.
 */
export async function fill(
  room: string,
  count: number,
  name = "Ada",
  text: (i: number) => string = (i) => `m${i}`,
): Promise<void> {
  let client: Client | null = null;
  for (let i = 1; i <= count; i++) {
    if ((i - 1) % 20 === 0) {
      await client?.close();
      client = (await join(room, { name })).client;
    }
    await say(client!, text(i));
  }
  await client?.close();
}

// ---- Rooms arranged the way several test files start -------------------------------------------

/** How many messages the room has stored, as `GET /api/rooms/:room/count` answers. */
export async function countOf(room: string): Promise<number> {
  return (await (await api(`/api/rooms/${room}/count`)).json<{ count: number }>()).count;
}

/**
 * A new room whose clock stands still at `start` (now) until the test moves it with `setClock`,
 * and Ada joined to it.
 */
export async function joinRoomWithClock() {
  const room = uniqueRoom();
  const start = Date.now();
  await setClock(room, start);
  const { client, welcome } = await join(room);
  return { room, start, client, welcome };
}

/** A new room with Ada and Grace in it, once Ada has been told that Grace joined. */
export async function adaAndGrace() {
  const room = uniqueRoom();
  const ada = await join(room, { name: "Ada" });
  const grace = await join(room, { name: "Grace" });
  await ada.client.nextOf("join");
  return { room, ada, grace };
}

/** The storages whose deleteAll() already carries a fault wrapper (a new one comes with each instance). */
const faultWrapped = new WeakSet<object>();

/**
 * Makes the room read its clock from `clock` and, once per instance, wraps its deleteAll() so that
 * it throws `message` whenever `fails()` says so (see injectDeleteAllFault).
 */
export function tuneRoom(room: string, clock: () => number, fails: () => boolean, message: string): Promise<void> {
  return runInDurableObject(roomStub(room), (instance: ChatRoom, state) => {
    instance.clock = clock;
    if (faultWrapped.has(state.storage)) return;
    faultWrapped.add(state.storage);
    injectDeleteAllFault(state.storage, fails, message);
  });
}
