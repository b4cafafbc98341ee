/**
 * The README's examples are tests: every `curl` and WebSocket session of README.md's API section
 * (and its Health section) is played against the Worker in the README's order and must answer
 * exactly what it shows (status, headers, body, frames), so the documentation cannot drift from
 * the app. The Tokens examples run against the same Worker with CHAT_SECRET and
 * CHAT_ISSUER_SECRET set, as they say. Every route of the Worker must have an example.
 */
import { exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { playReadme, readmeExamples, routesWithoutExample, unplayedCommands } from "../src/shared/readme-examples";
import type { SocketClient } from "../src/shared/testing";
import worker from "../src/index";
import readme from "../README.md?raw";
import { TOKEN_SECRETS, withTokens } from "./helpers";

// Ids, instants and the room's epoch are drawn or read from the clock: only their type is checked.
const varying = ["you.id", "present[].id", "userId", "joinedAt", "at", "epoch", "expiresAt", "token"];

const tokenExamples = readmeExamples(readme, { section: "Tokens (optional)" });
const apiExamples = [
  ...readmeExamples(readme, { section: "API" }).filter(
    (example) => !tokenExamples.some((t) => t.line === example.line),
  ),
  ...readmeExamples(readme, { section: "Health" }),
];

async function closeAll(sockets: SocketClient[]) {
  for (const client of sockets) client.socket.close(1000);
  await Promise.all(sockets.map((client) => client.closed));
}

describe("README.md examples", () => {
  it("plays every curl and WebSocket session of the README, in its API, Tokens and Health sections; the others are marked not run", () => {
    expect(unplayedCommands(readme, [...apiExamples, ...tokenExamples])).toEqual([]);
  });

  it("shows every route of the Worker with an example", () => {
    expect(routesWithoutExample(readme, worker.routes)).toEqual([]);
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
