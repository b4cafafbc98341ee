/**
 * README examples are tests: the curls of the README's "Per-key overrides" section are played
 * against the Worker in the README's order and must answer exactly what it shows (status, the
 * headers shown, body), so that section cannot drift from the app. `$AUTH` is the tests' token.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { playReadme, readmeExamples } from "../src/shared/readme-examples";
import readme from "../README.md?raw";
import { TOKEN } from "./helpers";

const overrides = readmeExamples(readme, { section: "Per-key overrides" });

describe("README.md examples", () => {
  it('finds the curls of "Per-key overrides"', () => {
    expect(overrides.map((e) => (e.kind === "http" ? `${e.request.method} ${e.request.path}` : e.path))).toEqual([
      "PUT /api/keys/user:42/overrides",
      "PUT /api/keys/ip:198.51.100.7/overrides",
      "POST /api/check",
      "GET /api/keys/user:42/overrides",
      "DELETE /api/keys/user:42/overrides",
    ]);
  });

  it("answers each one, played in order, as the README shows", async () => {
    await playReadme(overrides, (request) => exports.default.fetch(request), {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
  });
});
