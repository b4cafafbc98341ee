/**
 * The chat Worker: validates every request (room name, display name, token), then forwards it to
 * the ChatRoom object of that room. Static files in public/ (the web page) are served before
 * this code runs.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  ProblemError,
  jsonBody,
  limitBody,
  notFound,
  objectName,
  onError,
  params,
  problemType,
  query,
  requireWebSocket,
} from "@durable-patterns/shared";
import { HistoryQuery, JoinQuery, TokenBody } from "./protocol";
import { issueToken, verifyToken } from "./tokens";

export { ChatRoom } from "./chat-room-object";

const roomParam = params(z.object({ room: objectName }));

function room(env: Env, name: string) {
  return env.CHAT_ROOM.getByName(name);
}

/**
 * The optional secret that turns tokens on (`wrangler secret put CHAT_SECRET`). Secrets are not
 * in wrangler.jsonc, so the generated Env does not list it.
 */
function chatSecret(env: Env): string | undefined {
  return (env as Env & { CHAT_SECRET?: string }).CHAT_SECRET || undefined;
}

const api = new Hono<{ Bindings: Env }>()
  // The only body this API accepts is a name; refuse anything larger before reading it.
  .use(limitBody(1024))
  .get("/rooms/:room/websocket", roomParam, query(JoinQuery), requireWebSocket, async (c) => {
    const { room: name } = c.req.valid("param");
    const join = c.req.valid("query");
    const secret = chatSecret(c.env);
    // Checked here, before the object is touched: a refused join costs the room nothing.
    if (secret && !(join.token && (await verifyToken(secret, name, join.name, join.token)))) {
      throw new ProblemError(401, "Joining this room needs a valid token: POST /api/rooms/:room/tokens first.", {
        type: problemType("invalid-token"),
      });
    }
    return room(c.env, name).fetch(c.req.raw);
  })
  .get("/rooms/:room/count", roomParam, async (c) => {
    const { room: name } = c.req.valid("param");
    return c.json({ room: name, count: await room(c.env, name).count() });
  })
  .get("/rooms/:room/messages", roomParam, query(HistoryQuery), async (c) => {
    const { room: name } = c.req.valid("param");
    const { before, limit } = c.req.valid("query");
    return c.json({ room: name, ...(await room(c.env, name).messages(before, limit)) });
  })
  // In a real product this route sits behind your login and takes the name from the session;
  // here anyone may ask, so it shows the mechanism, not an identity check.
  .post("/rooms/:room/tokens", roomParam, jsonBody(TokenBody), async (c) => {
    const { room: name } = c.req.valid("param");
    const { name: user } = c.req.valid("json");
    const secret = chatSecret(c.env);
    if (!secret) {
      throw new ProblemError(404, "Tokens are off: this deployment has no CHAT_SECRET, so join without one.", {
        type: problemType("tokens-disabled"),
      });
    }
    return c.json(await issueToken(secret, name, user));
  });

const app = new Hono<{ Bindings: Env }>().route("/api", api);
app.onError(onError);
app.notFound(notFound);

/** The API's route types, for Hono's typed client `hc<ChatApi>(url)`. */
export type ChatApi = typeof app;

export default app satisfies ExportedHandler<Env>;
