/**
 * The chat Worker: validates every request (room name, display name, token), then forwards it to
 * the ChatRoom object of that room. Static files in public/ (the web page) are served before
 * this code runs.
 */
import { Hono, type MiddlewareHandler } from "hono";
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
import { issueToken, tokenHolder } from "./tokens";

export { ChatRoom } from "./chat-room-object";

const roomParam = params(z.object({ room: objectName }));

function room(env: Env, name: string) {
  return env.CHAT_ROOM.getByName(name);
}

/**
 * Every secret the Worker reads (`wrangler secret put <NAME>`; locally `.dev.vars`, copied from
 * `.dev.vars.example`, which lists each of them: a test keeps the two in step). Secrets are not in
 * wrangler.jsonc, so the generated Env does not list them.
 */
interface Secrets {
  /** Optional. Set, every route of a room needs a token for that room; unset or empty, rooms are open. */
  CHAT_SECRET?: string;
}

function chatSecret(env: Env): string | undefined {
  return (env as Env & Secrets).CHAT_SECRET || undefined;
}

/** A 401 with the bearer challenge of RFC 6750 (`error="invalid_token"` when a token was sent). */
function unauthorized(detail: string, presented: boolean): ProblemError {
  return new ProblemError(401, detail, {
    type: problemType("invalid-token"),
    headers: { "www-authenticate": `Bearer realm="chat-room"${presented ? ', error="invalid_token"' : ""}` },
  });
}

function bearerToken(header: string | undefined): string | undefined {
  return header?.match(/^Bearer +(\S+)$/i)?.[1];
}

/**
 * With a CHAT_SECRET, the room's HTTP routes need `Authorization: Bearer <token>` with a valid
 * token for that room, whoever it was issued to. Checked here, before the object is touched.
 * Never `?token=` on these routes: a URL ends up in logs and browser history.
 */
const requireRoomToken: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  const secret = chatSecret(c.env);
  if (secret) {
    const token = bearerToken(c.req.header("authorization"));
    if (!token || (await tokenHolder(secret, c.req.param("room")!, token)) === null) {
      throw unauthorized(
        "This room needs a token: POST /api/rooms/:room/tokens, then send Authorization: Bearer <token>.",
        token !== undefined,
      );
    }
  }
  await next();
};

const api = new Hono<{ Bindings: Env }>()
  // The only body this API accepts is a name; refuse anything larger before reading it.
  .use(limitBody(1024))
  .get("/rooms/:room/websocket", roomParam, query(JoinQuery), requireWebSocket, async (c) => {
    const { room: name } = c.req.valid("param");
    const join = c.req.valid("query");
    const secret = chatSecret(c.env);
    // Checked here, before the object is touched: a refused join costs the room nothing. Browsers
    // cannot set headers on a WebSocket, so the token may come as `&token=` here (other clients
    // can send the bearer header); it must have been issued to the name that joins.
    if (secret) {
      const token = join.token ?? bearerToken(c.req.header("authorization"));
      if (!token || (await tokenHolder(secret, name, token)) !== join.name) {
        throw unauthorized(
          "Joining this room needs a valid token for this name: POST /api/rooms/:room/tokens first.",
          token !== undefined,
        );
      }
    }
    return room(c.env, name).fetch(c.req.raw);
  })
  .get("/rooms/:room/count", roomParam, requireRoomToken, async (c) => {
    const { room: name } = c.req.valid("param");
    return c.json({ room: name, count: await room(c.env, name).count() });
  })
  .get("/rooms/:room/messages", roomParam, requireRoomToken, query(HistoryQuery), async (c) => {
    const { room: name } = c.req.valid("param");
    const { before, limit } = c.req.valid("query");
    return c.json({ room: name, ...(await room(c.env, name).messages(before, limit)) });
  })
  // The one route of a room that needs no token: it is where tokens come from. In a real product
  // it sits behind your login and takes the name from the session; here anyone may ask, so it
  // shows the mechanism, not an identity check. It never touches the object.
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
