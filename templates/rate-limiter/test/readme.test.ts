/**
 * README examples are tests: the curls of the README's API section, then of "Per-key overrides"
 * and "Health", are played against the Worker in the README's order and must answer exactly what
 * it shows (status, the headers shown, body), so the README cannot drift from the app. `$AUTH`
 * sends the tests' token. Every route of the Worker must have an example. The keys' objects run at
 * the instant the README's numbers come from (32 min 5 s past an hour, so a fixed minute resets in
 * 55 s and a sliding hour in 5,275 s); the peek of user:42 runs 2 s later, when its GCRA burst is
 * whole again.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  exampleLabel,
  playReadme,
  readmeExamples,
  routesWithoutExample,
  unplayedCommands,
} from "../src/shared/readme-examples";
import worker from "../src/index";
import readme from "../README.md?raw";
import { TOKEN, freezeClock } from "./helpers";

const api = readmeExamples(readme, { section: "API" });
const overrides = readmeExamples(readme, { section: "Per-key overrides" });
const health = readmeExamples(readme, { section: "Health" });
const AT = Date.UTC(2026, 10, 27, 15, 32, 5);

describe("README.md examples", () => {
  it("plays every curl of the README, in its API, Per-key overrides and Health sections; the others are marked not run", () => {
    expect(unplayedCommands(readme, [...api, ...overrides, ...health])).toEqual([]);
  });

  it("shows every route of the Worker with an example", () => {
    expect(routesWithoutExample(readme, worker.routes)).toEqual([]);
  });

  it("answers each one, played in order, as the README shows", async () => {
    const setClock = { "user:42": await freezeClock("user:42", AT), "user:7": await freezeClock("user:7", AT) };
    await playReadme([...api, ...overrides, ...health], (request) => exports.default.fetch(request), {
      headers: { authorization: `Bearer ${TOKEN}` },
      beforeEach: async (example) => {
        if (exampleLabel(example) === "GET /api/keys/user:42?policies=api") await setClock["user:42"](AT + 2_000);
      },
    });
  });
});
