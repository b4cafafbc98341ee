/**
 * The README's examples are tests: every `curl` and WebSocket session in README.md is played
 * against the Worker, in the order the README gives them, and must answer exactly what the README
 * shows (status, body, frames), so the documentation cannot drift from the app.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { playReadme, readmeExamples, routesWithoutExample, unplayedCommands } from "../src/shared/readme-examples";
import worker from "../src/index";
import readme from "../README.md?raw";

const examples = readmeExamples(readme);

describe("README.md examples", () => {
  it("plays every curl and WebSocket session of the README, except those marked not run", () => {
    expect(unplayedCommands(readme, examples)).toEqual([]);
  });

  it("shows every route of the Worker with an example", () => {
    expect(routesWithoutExample(readme, worker.routes)).toEqual([]);
  });

  it("answers each one, played in order, as the README shows (a random shard and the next fire vary)", async () => {
    const sockets = await playReadme(examples, (request) => exports.default.fetch(request), {
      varying: ["shard", "next"],
    });
    for (const client of sockets) client.socket.close(1000);
  });
});
