/**
 * Optional join tokens. The deployment under test has no CHAT_SECRET (every other test joins
 * without a token), so these tests call the same Worker with the secret added to its env: the
 * routes, the check before the object and the object itself are the real ones.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { TOKEN_TTL_SECONDS, issueToken, tokenHolder, verifyToken } from "../src/tokens";
import { uniqueRoom } from "./helpers";

const SECRET = "test-secret-do-not-use";
const withSecret = { ...env, CHAT_SECRET: SECRET } as Env;

function call(path: string, init?: RequestInit): Promise<Response> {
  return Promise.resolve(
    worker.fetch(new Request(`https://chat.example${path}`, init), withSecret, createExecutionContext()),
  );
}

async function tokenFor(room: string, name: string) {
  const response = await call(`/api/rooms/${room}/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  expect(response.status).toBe(200);
  return response.json<{ token: string; expiresAt: string }>();
}

function joinWith(room: string, search: string) {
  return call(`/api/rooms/${room}/websocket?${search}`, { headers: { upgrade: "websocket" } });
}

describe("with CHAT_SECRET set", () => {
  it("issues a token valid for five minutes from POST /api/rooms/:room/tokens", async () => {
    const before = Date.now();
    const { token, expiresAt } = await tokenFor(uniqueRoom(), "Ada");
    // <exp>.<the name, base64url of its UTF-8 ("QWRh" is "Ada")>.<HMAC-SHA256, base64url>
    expect(token).toMatch(/^\d+\.QWRh\.[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(expiresAt) - before;
    expect(ttl).toBeGreaterThan((TOKEN_TTL_SECONDS - 2) * 1000);
    expect(ttl).toBeLessThanOrEqual(TOKEN_TTL_SECONDS * 1000);
  });

  it("lets a client with a valid token join", async () => {
    const room = uniqueRoom();
    const { token } = await tokenFor(room, "Ada");
    const response = await joinWith(room, `name=Ada&token=${token}`);
    expect(response.status).toBe(101);
    const socket = response.webSocket!;
    socket.accept();
    const welcome = await new Promise((resolve) =>
      socket.addEventListener("message", (event) => resolve(JSON.parse(event.data as string))),
    );
    expect(welcome).toMatchObject({ type: "welcome", you: { name: "Ada" } });
    socket.close(1000);
  });

  it.each([
    ["no token", async () => `name=Ada`],
    ["a token for another name", async (room: string) => `name=Eve&token=${(await tokenFor(room, "Ada")).token}`],
    ["a token for another room", async () => `name=Ada&token=${(await tokenFor(uniqueRoom(), "Ada")).token}`],
    [
      "a tampered token",
      async (room: string) => `name=Ada&token=${(await tokenFor(room, "Ada")).token.replace(/^\d+/, "9999999999")}`,
    ],
    [
      "a token signed with another secret",
      async (room: string) => `name=Ada&token=${(await issueToken("other", room, "Ada")).token}`,
    ],
    ["garbage", async () => `name=Ada&token=not-a-token`],
  ])("refuses a join with %s with 401 before the object is touched", async (_, search) => {
    const room = uniqueRoom();
    const response = await joinWith(room, await search(room));
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:invalid-token" });
  });
});

describe("with CHAT_SECRET set, every route of a room", () => {
  function get(path: string, token?: string) {
    return call(path, token ? { headers: { authorization: `Bearer ${token}` } } : undefined);
  }

  it.each([
    ["GET /count", "/count"],
    ["GET /messages", "/messages"],
    ["GET /messages?before=&limit=", "/messages?before=10&limit=5"],
  ])("refuses %s without a token with 401 and a WWW-Authenticate challenge", async (_, route) => {
    const response = await get(`/api/rooms/${uniqueRoom()}${route}`);
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="chat-room"');
    expect(await response.json()).toMatchObject({ status: 401, type: "urn:durable-patterns:problem:invalid-token" });
  });

  it.each([
    ["a token for another room", async () => (await tokenFor(uniqueRoom(), "Ada")).token],
    ["a tampered token", async (room: string) => (await tokenFor(room, "Ada")).token.replace(/^\d+/, "9999999999")],
    ["a token signed with another secret", async (room: string) => (await issueToken("other", room, "Ada")).token],
    ["garbage", async () => "not-a-token"],
  ])("refuses GET /count and /messages with %s with 401", async (_, token) => {
    const room = uniqueRoom();
    for (const route of ["/count", "/messages"]) {
      const response = await get(`/api/rooms/${room}${route}`, await token(room));
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="chat-room", error="invalid_token"');
    }
  });

  it("takes the token as a bearer header on HTTP routes, never in the URL", async () => {
    const room = uniqueRoom();
    const { token } = await tokenFor(room, "Ada");
    expect((await call(`/api/rooms/${room}/count?token=${token}`)).status).toBe(401);
  });

  it("answers GET /count and /messages with the room's messages for a bearer token of that room", async () => {
    const room = uniqueRoom();
    const { token } = await tokenFor(room, "Ada");
    const response = await joinWith(room, `name=Ada&token=${token}`);
    const socket = response.webSocket!;
    socket.accept();
    const received: { type: string; id?: number; text?: string }[] = [];
    const stored = new Promise<void>((resolve) =>
      socket.addEventListener("message", (event) => {
        received.push(JSON.parse(event.data as string));
        if (received.at(-1)!.type === "message") resolve();
      }),
    );
    socket.send(JSON.stringify({ type: "message", text: "for members only" }));
    await stored;
    socket.close(1000);

    // Any valid token of the room will do, whoever it was issued to.
    const reader = (await tokenFor(room, "Grace")).token;
    expect(await (await get(`/api/rooms/${room}/count`, reader)).json()).toEqual({ room, count: 1 });
    expect(await (await get(`/api/rooms/${room}/messages`, reader)).json()).toMatchObject({
      room,
      messages: [{ id: 1, name: "Ada", text: "for members only" }],
      next: null,
    });
  });
});

describe("tokens", () => {
  it("verify for the room and name they were issued for", async () => {
    const { token } = await issueToken(SECRET, "lobby", "Ada");
    expect(await verifyToken(SECRET, "lobby", "Ada", token)).toBe(true);
    expect(await verifyToken(SECRET, "lobby", "ada", token)).toBe(false);
    expect(await verifyToken(SECRET, "lobby2", "Ada", token)).toBe(false);
  });

  it("expire after five minutes", async () => {
    const issuedAt = Date.now();
    const { token } = await issueToken(SECRET, "lobby", "Ada", issuedAt);
    expect(await verifyToken(SECRET, "lobby", "Ada", token, issuedAt + (TOKEN_TTL_SECONDS - 1) * 1000)).toBe(true);
    expect(await verifyToken(SECRET, "lobby", "Ada", token, issuedAt + (TOKEN_TTL_SECONDS + 1) * 1000)).toBe(false);
  });

  it("say who holds them: the name they were issued to, for their room only", async () => {
    const { token } = await issueToken(SECRET, "lobby", "Zoë 🦊 | x");
    expect(await tokenHolder(SECRET, "lobby", token)).toBe("Zoë 🦊 | x");
    expect(await tokenHolder(SECRET, "kitchen", token)).toBeNull();
    expect(await tokenHolder("other", "lobby", token)).toBeNull();
    // The name is signed: another name in the same token is a forgery.
    const [exp, , signature] = token.split(".");
    expect(await tokenHolder(SECRET, "lobby", `${exp}.RXZl.${signature}`)).toBeNull();
  });

  it("sign names containing the separator unambiguously", async () => {
    const { token } = await issueToken(SECRET, "a", "b|c");
    expect(await verifyToken(SECRET, "a", "b|c", token)).toBe(true);
    expect(await verifyToken(SECRET, "a|b", "c", token)).toBe(false);
  });
});
