/**
 * The README's examples are tests: every `curl` and WebSocket session in README.md is played
 * against the Worker, in the order the README gives them, and must answer exactly what the README
 * shows (status, body, frames), so the documentation cannot drift from the app.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { exampleLabel, playReadme, readmeExamples } from "../src/shared/readme-examples";
import readme from "../README.md?raw";

const examples = readmeExamples(readme);

describe("README.md examples", () => {
  it("finds every curl of the API and scheduling sections, and the WebSocket session", () => {
    expect(examples.map(exampleLabel)).toEqual([
      "GET /api/counters/likes",
      "POST /api/counters/likes/increment",
      "POST /api/counters/likes/increment",
      "POST /api/counters/likes/decrement",
      "PUT /api/counters/likes",
      "DELETE /api/counters/likes",
      "POST /api/sharded-counters/views/increment",
      "GET /api/sharded-counters/views",
      "POST /api/counters/likes/schedule",
      "GET /api/counters/likes/schedule",
      "DELETE /api/counters/likes/schedule/1",
      "WS /api/counters/likes/websocket",
    ]);
  });

  it("answers each one, played in order, as the README shows (a random shard and the next fire vary)", async () => {
    const sockets = await playReadme(examples, (request) => exports.default.fetch(request), {
      varying: ["shard", "next"],
    });
    for (const client of sockets) client.socket.close(1000);
  });
});
