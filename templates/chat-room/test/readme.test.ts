/**
 * The README's examples are tests: every `curl` and WebSocket session of README.md's API section
 * is played against the Worker in the README's order and must answer exactly what it shows
 * (status, headers, body, frames), so the documentation cannot drift from the app. The Tokens
 * examples run against the same Worker with CHAT_SECRET and CHAT_ISSUER_SECRET set, as they say.
 */
import { exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { playReadme, readmeExamples } from "../src/shared/readme-examples";
import type { SocketClient } from "../src/shared/testing";
import worker from "../src/index";
import readme from "../README.md?raw";
import { TOKEN_SECRETS, withTokens } from "./helpers";

// Ids, instants and the room's epoch are drawn or read from the clock: only their type is checked.
const varying = ["you.id", "present[].id", "userId", "joinedAt", "at", "epoch", "expiresAt", "token"];

const tokenExamples = readmeExamples(readme, { section: "Tokens (optional)" });
const apiExamples = readmeExamples(readme, { section: "API" }).filter(
  (example) => !tokenExamples.some((t) => t.line === example.line),
);

async function closeAll(sockets: SocketClient[]) {
  for (const client of sockets) client.socket.close(1000);
  await Promise.all(sockets.map((client) => client.closed));
}

describe("README.md examples", () => {
  it("finds the API section's curls and WebSocket sessions, and the Tokens section's", () => {
    const shown = (e: (typeof apiExamples)[number]) =>
      e.kind === "http" ? `${e.request.method} ${e.request.path}` : `WS ${e.path}`;
    expect(apiExamples.map(shown)).toEqual([
      "GET /api/rooms/lobby/count",
      "WS /api/rooms/lobby/websocket?name=Ada",
      "GET /api/rooms/lobby/count",
      "GET /api/rooms/lobby/messages?limit=2",
      "WS /api/rooms/lobby/websocket?name=Ada&after=1&epoch=9f2c4e1a0b7d3c55",
    ]);
    expect(tokenExamples.map(shown)).toEqual([
      "GET /api/rooms/lobby/count",
      "POST /api/rooms/lobby/tokens",
      "POST /api/rooms/lobby/tokens",
      "GET /api/rooms/lobby/count",
      "GET /api/rooms/lobby/messages?limit=2",
      "WS /api/rooms/lobby/websocket?name=Ada&token=$TOKEN",
    ]);
  });

  it("API, then Tokens with both secrets set (the same room, so its count goes on): each answers as shown", async () => {
    const open = await playReadme(apiExamples, (request) => exports.default.fetch(request), { varying });
    await closeAll(open);
    const withToken = await playReadme(
      tokenExamples,
      async (request) => worker.fetch(request, withTokens, createExecutionContext()),
      { varying, vars: { CHAT_ISSUER_SECRET: TOKEN_SECRETS.CHAT_ISSUER_SECRET } },
    );
    await closeAll(withToken);
  });
});
