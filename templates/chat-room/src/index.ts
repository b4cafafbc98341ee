/**
 * The chat Worker: validates every request (room name, display name, token), then forwards it to
 * the ChatRoom object of that room. Static files in public/ (the web page) are served before
 * this code runs.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import {
  apiWorker,
  jsonBody,
  limitBody,
  objectName,
  params,
  ProblemError,
  query,
  requireWebSocket,
  sameSecret,
} from "./shared";
import { version } from "../package.json";
import { HistoryQuery, JoinQuery, TokenBody } from "./protocol";
import { jwtConfig, verifyIdentity } from "./identity";
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
  /**
   * Needed with CHAT_SECRET: the credential of the backend that issues tokens (after its own login),
   * sent as `Authorization: Bearer <CHAT_ISSUER_SECRET>` to `POST .../tokens`. Unset or empty while
   * CHAT_SECRET is set and no identity-provider JWT is configured (the `CHAT_JWKS_URL`,
   * `CHAT_JWT_ISSUER`, `CHAT_JWT_AUDIENCE` vars), nobody can issue a token (503): auth fails closed.
   */
  CHAT_ISSUER_SECRET?: string;
}

function chatSecret(env: Env): string | undefined {
  return (env as Env & Secrets).CHAT_SECRET || undefined;
}

function issuerSecret(env: Env): string | undefined {
  return (env as Env & Secrets).CHAT_ISSUER_SECRET || undefined;
}

function issuerRefusal(detail: string, presented: boolean): ProblemError {
  return new ProblemError(401, detail, {
    type: "unauthorized",
    headers: { "www-authenticate": `Bearer realm="chat-room-issuer"${presented ? ', error="invalid_token"' : ""}` },
  });
}

function notConfigured(detail: string): ProblemError {
  return new ProblemError(503, detail, { type: "not-configured" });
}

/**
 * Who may ask for a token, and in whose name. Two credentials, either or both configured:
 *
 * - `Authorization: Bearer <CHAT_ISSUER_SECRET>`: your backend, which decided who the person is
 *   (its login) and vouches for the name in the body. Answers `"body"`.
 * - a JWT from your identity provider (when `CHAT_JWKS_URL`, `CHAT_JWT_ISSUER` and
 *   `CHAT_JWT_AUDIENCE` are set), in `Cf-Access-Jwt-Assertion` (what Cloudflare Access adds) or
 *   as the bearer token: verified against the provider's keys, and the name is taken from its
 *   claims, never from the body. Answers that name.
 *
 * Neither configured, nobody may (503): an unset secret never means "no auth". Anything else is a
 * 401 before the body is read.
 */
async function authorizeIssuing(env: Env, headers: Headers): Promise<"body" | { name: string }> {
  const expected = issuerSecret(env);
  const jwt = jwtConfig(env);
  if (jwt === "incomplete") {
    throw notConfigured(
      "Tokens cannot be issued: CHAT_JWKS_URL needs an https URL, CHAT_JWT_ISSUER and CHAT_JWT_AUDIENCE.",
    );
  }
  if (!expected && !jwt) {
    throw notConfigured(
      "Tokens cannot be issued: this deployment has a CHAT_SECRET but no CHAT_ISSUER_SECRET (or JWT settings).",
    );
  }
  const bearer = bearerToken(headers.get("authorization") ?? undefined);
  if (expected && bearer !== undefined && sameSecret(bearer, expected)) return "body";
  const assertion = jwt ? (headers.get("cf-access-jwt-assertion") ?? bearer) : undefined;
  if (jwt && assertion !== undefined) {
    const identity = await verifyIdentity(jwt, assertion);
    if (identity.ok) return { name: identity.name };
    if (identity.reason === "unavailable") throw notConfigured(identity.detail);
    if (identity.reason === "no-name") {
      throw new ProblemError(422, identity.detail, { type: "identity-without-name" });
    }
    throw issuerRefusal(identity.detail, true);
  }
  throw issuerRefusal(
    bearer === undefined
      ? `Issuing a token needs the issuer's credential: Authorization: Bearer <${jwt ? "CHAT_ISSUER_SECRET or an identity JWT" : "CHAT_ISSUER_SECRET"}>.`
      : "The issuer credential is not valid.",
    bearer !== undefined,
  );
}

/** Who each token request was authorized for (see the token route). */
const issuing = new WeakMap<Request, "body" | { name: string }>();

/** A 401 with the bearer challenge of RFC 6750 (`error="invalid_token"` when a token was sent). */
function unauthorized(detail: string, presented: boolean): ProblemError {
  return new ProblemError(401, detail, {
    type: "invalid-token",
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
  // Whether rooms here need tokens, for a page to ask before it joins: probing the token route
  // instead would log a red 404 in the browser's console on every visit to an open deployment.
  .get("/tokens", (c) => c.json({ tokens: chatSecret(c.env) !== undefined }))
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
  // The one route of a room that needs no room token: it is where tokens come from. Only the
  // issuer (your backend, behind your login) may call it, with its own bearer credential; the name
  // in the body is the one it vouches for. It never touches the object.
  .post(
    "/rooms/:room/tokens",
    roomParam,
    async (c, next) => {
      // With tokens on, the credential is checked before the body is read: a caller who may not
      // issue learns nothing from its validation. With tokens off, a body is validated as before
      // and then answered 404.
      if (chatSecret(c.env)) issuing.set(c.req.raw, await authorizeIssuing(c.env, c.req.raw.headers));
      await next();
    },
    jsonBody(TokenBody),
    async (c) => {
      const { room: name } = c.req.valid("param");
      const secret = chatSecret(c.env);
      if (!secret) {
        throw new ProblemError(404, "Tokens are off: this deployment has no CHAT_SECRET, so join without one.", {
          type: "tokens-disabled",
        });
      }
      // The issuer secret vouches for the name in the body; a JWT's own claims name its holder.
      const authorized = issuing.get(c.req.raw)!;
      const user = authorized === "body" ? c.req.valid("json").name : authorized.name;
      return c.json({ ...(await issueToken(secret, name, user)), name: user }, 201);
    },
  );

const app = apiWorker({ app: "chat-room", version, objectParam: "room" }, api);

/** The API's route types, for Hono's typed client `hc<ChatApi>(url)`. */
export type ChatApi = typeof app;

export default app satisfies ExportedHandler<Env>;
