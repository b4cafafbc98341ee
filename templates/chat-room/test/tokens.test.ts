/**
 * Optional join tokens. The deployment under test has no CHAT_SECRET (every other test joins
 * without a token), so these tests call the same Worker with the secret added to its env: the
 * routes, the check before the object and the object itself are the real ones.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { TOKEN_TTL_SECONDS, issueToken, tokenHolder, verifyToken } from "../src/tokens";
import { callWithTokens, TOKEN_SECRETS, uniqueRoom, withTokens } from "./helpers";

const { CHAT_SECRET: SECRET, CHAT_ISSUER_SECRET: ISSUER } = TOKEN_SECRETS;
const withSecret = withTokens;
const call = callWithTokens;

/** `POST /api/rooms/:room/tokens {"name"}`, with `authorization` as given (none when undefined). */
function requestToken(room: string, name: string, authorization?: string, env = withSecret) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (authorization !== undefined) headers.authorization = authorization;
  return Promise.resolve(
    worker.fetch(
      new Request(`https://chat.example/api/rooms/${room}/tokens`, {
        method: "POST",
        headers,
        body: JSON.stringify({ name }),
      }),
      env,
      createExecutionContext(),
    ),
  );
}

async function tokenFor(room: string, name: string) {
  const response = await requestToken(room, name, `Bearer ${ISSUER}`);
  expect(response.status).toBe(201);
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

describe("issuing a token (POST /api/rooms/:room/tokens) with CHAT_SECRET set", () => {
  it("refuses to issue a token without the issuer's credential with 401", async () => {
    const response = await requestToken(uniqueRoom(), "Ada");
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="chat-room-issuer"');
    expect(await response.json()).toMatchObject({ status: 401, type: "urn:durable-patterns:problem:unauthorized" });
  });

  it.each([
    ["a wrong secret", `Bearer not-the-issuer-secret`],
    ["the issuer secret with a byte more", `Bearer ${ISSUER}x`],
    ["the room secret", `Bearer ${SECRET}`],
    ["a room token", "room-token"],
    ["another scheme", `Basic ${ISSUER}`],
  ])("refuses to issue a token for %s with 401", async (_, authorization) => {
    const room = uniqueRoom();
    const header =
      authorization === "room-token" ? `Bearer ${(await issueToken(SECRET, room, "Ada")).token}` : authorization;
    const response = await requestToken(room, "Ada", header);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer realm="chat-room-issuer"/);
  });

  it("issues a token for the name in the body with 201 to the issuer's credential", async () => {
    const room = uniqueRoom();
    const response = await requestToken(room, "Zoë 🦊", `Bearer ${ISSUER}`);
    expect(response.status).toBe(201);
    const { token } = await response.json<{ token: string }>();
    expect(await tokenHolder(SECRET, room, token)).toBe("Zoë 🦊");
  });

  it("fails closed: with CHAT_SECRET but no CHAT_ISSUER_SECRET, nobody can issue a token (503)", async () => {
    const noIssuer = { ...env, CHAT_SECRET: SECRET, CHAT_ISSUER_SECRET: "" } as Env;
    for (const authorization of [undefined, "Bearer ", `Bearer ${SECRET}`, "Bearer undefined"]) {
      const response = await requestToken(uniqueRoom(), "Ada", authorization, noIssuer);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:not-configured" });
    }
  });

  it("says whether rooms need tokens (GET /api/tokens), so a page can ask without provoking an error", async () => {
    const open = { ...env, CHAT_SECRET: "", CHAT_ISSUER_SECRET: "" } as Env;
    const closed = await callWithTokens("/api/tokens");
    expect(closed.status).toBe(200);
    expect(await closed.json()).toEqual({ tokens: true });
    const answer = await callWithTokens("/api/tokens", undefined, open);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ tokens: false });
  });

  it("answers 404 tokens-disabled without CHAT_SECRET, so local rooms stay open", async () => {
    const open = { ...env, CHAT_SECRET: "", CHAT_ISSUER_SECRET: "" } as Env;
    const response = await requestToken(uniqueRoom(), "Ada", undefined, open);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:tokens-disabled" });
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

describe("issuing a token to a JWT from an identity provider (Cloudflare Access, OIDC)", () => {
  // A provider of our own: a key pair generated here, its public half served as a JWKS by a
  // stubbed fetch at CHAT_JWKS_URL, and JWTs signed with the private half. Each test file run has
  // its own URL, since the Worker keeps the key set of a URL for the life of the isolate.
  const JWKS_URL = `https://idp.example/${crypto.randomUUID()}/certs`;
  const IDP = "https://idp.example";
  const AUDIENCE = "chat-room-aud-tag";
  const withJwt = {
    ...withSecret,
    CHAT_JWKS_URL: JWKS_URL,
    CHAT_JWT_ISSUER: IDP,
    CHAT_JWT_AUDIENCE: AUDIENCE,
  } as unknown as Env;
  let key: CryptoKey;
  let otherKey: CryptoKey;
  let jwksFetches = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256", { extractable: true });
    key = pair.privateKey;
    otherKey = (await generateKeyPair("ES256")).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url !== JWKS_URL) return realFetch(input, init);
      jwksFetches++;
      return Response.json({ keys: [jwk] });
    });
  });
  afterAll(() => vi.restoreAllMocks());

  function jwt(claims: Record<string, unknown>, options: { signWith?: CryptoKey; exp?: string | number | null } = {}) {
    const builder = new SignJWT({ iss: IDP, aud: AUDIENCE, ...claims })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuedAt();
    if (options.exp !== null) builder.setExpirationTime(options.exp ?? "5m");
    return builder.sign(options.signWith ?? key);
  }

  it("issues a token in the name from the JWT's claims, not the body's, with 201", async () => {
    const room = uniqueRoom();
    const response = await requestToken(room, "Mallory", `Bearer ${await jwt({ name: "Ada Lovelace" })}`, withJwt);
    expect(response.status).toBe(201);
    const body = await response.json<{ token: string; name: string }>();
    expect(body.name).toBe("Ada Lovelace");
    expect(await tokenHolder(SECRET, room, body.token)).toBe("Ada Lovelace");
    expect(jwksFetches).toBeGreaterThan(0);
  });

  it("takes the JWT Cloudflare Access adds in Cf-Access-Jwt-Assertion, and the email when there is no name", async () => {
    const room = uniqueRoom();
    const assertion = await jwt({ email: "ada@example.com", sub: "u-1" });
    const response = await worker.fetch(
      new Request(`https://chat.example/api/rooms/${room}/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json", "cf-access-jwt-assertion": assertion },
        body: JSON.stringify({ name: "Mallory" }),
      }),
      withJwt,
      createExecutionContext(),
    );
    expect(response.status).toBe(201);
    expect(await tokenHolder(SECRET, room, (await response.json<{ token: string }>()).token)).toBe("ada@example.com");
  });

  it.each([
    ["signed with another key", () => jwt({ name: "Ada" }, { signWith: otherKey })],
    ["from another issuer", async () => jwt({ name: "Ada", iss: "https://evil.example" })],
    ["for another audience", async () => jwt({ name: "Ada", aud: "another-app" })],
    ["expired", () => jwt({ name: "Ada" }, { exp: Math.floor(Date.now() / 1000) - 120 })],
    ["without an expiry", () => jwt({ name: "Ada" }, { exp: null })],
    [
      "with alg none",
      async () => {
        const part = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "");
        const exp = Math.floor(Date.now() / 1000) + 300;
        return `${part({ alg: "none" })}.${part({ name: "Ada", iss: IDP, aud: AUDIENCE, exp })}.`;
      },
    ],
    ["that is not a JWT", async () => "not-a-jwt"],
  ])("refuses a JWT %s with 401", async (_, make) => {
    const response = await requestToken(uniqueRoom(), "Ada", `Bearer ${await make()}`, withJwt);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="chat-room-issuer", error="invalid_token"');
    expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:unauthorized" });
  });

  it("refuses a valid JWT whose claims hold no usable name with 422", async () => {
    const response = await requestToken(uniqueRoom(), "Ada", `Bearer ${await jwt({ sub: "u-1", name: "" })}`, withJwt);
    expect(response.status).toBe(422);
  });

  it("still takes the issuer secret, with the name in the body", async () => {
    const room = uniqueRoom();
    const response = await requestToken(room, "Grace", `Bearer ${ISSUER}`, withJwt);
    expect(response.status).toBe(201);
    expect(await tokenHolder(SECRET, room, (await response.json<{ token: string }>()).token)).toBe("Grace");
  });

  it("fails closed on incomplete JWT settings (503), even with a valid JWT", async () => {
    const incomplete = { ...withJwt, CHAT_JWT_AUDIENCE: "" } as unknown as Env;
    const response = await requestToken(uniqueRoom(), "Ada", `Bearer ${await jwt({ name: "Ada" })}`, incomplete);
    expect(response.status).toBe(503);
    const plainHttp = { ...withJwt, CHAT_JWKS_URL: "http://idp.example/certs" } as unknown as Env;
    expect((await requestToken(uniqueRoom(), "Ada", `Bearer ${ISSUER}`, plainHttp)).status).toBe(503);
  });
});
