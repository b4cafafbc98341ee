/**
 * Optional join tokens. The deployment under test has no CHAT_SECRET (every other test joins
 * without a token), so these tests call the same Worker with the secret added to its env: the
 * routes, the check before the object and the object itself are the real ones.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { TOKEN_TTL_SECONDS, issueToken, verifyToken } from "../src/tokens";
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
    expect(token).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
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

  it("sign names containing the separator unambiguously", async () => {
    const { token } = await issueToken(SECRET, "a", "b|c");
    expect(await verifyToken(SECRET, "a", "b|c", token)).toBe(true);
    expect(await verifyToken(SECRET, "a|b", "c", token)).toBe(false);
  });
});
