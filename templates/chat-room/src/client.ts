/**
 * A typed HTTP client for the chat API, for other Workers and for Node or browser code. Routes,
 * parameters and responses are checked by TypeScript against the router itself. (The WebSocket
 * protocol is described by `ServerMessage` and `ClientMessage` in protocol.ts.)
 *
 * @example
 * ```ts
 * // From another Worker with a service binding named CHAT_API:
 * const chat = chatClient("https://chat", { fetch: env.CHAT_API.fetch.bind(env.CHAT_API) });
 * const res = await chat.api.rooms[":room"].messages.$get({ param: { room: "lobby" }, query: { limit: "20" } });
 * if (res.ok) for (const message of (await res.json()).messages) console.log(message.name, message.text);
 *
 * // When the deployment has a CHAT_SECRET, every route of a room needs a token for it, as a header:
 * const count = await chat.api.rooms[":room"].count.$get(
 *   { param: { room: "lobby" } },
 *   { headers: { authorization: `Bearer ${token}` } },
 * );
 * ```
 */
import { hc } from "hono/client";
import type { ChatApi } from "./index";

export function chatClient(baseUrl: string, options: { fetch?: typeof fetch } = {}) {
  return hc<ChatApi>(baseUrl, options);
}
