import { fileURLToPath } from "node:url";
import { checkConfig } from "../src/index.js";

/** The path of a fixture's wrangler.jsonc (test/fixtures/<name>/wrangler.jsonc). */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}/wrangler.jsonc`, import.meta.url));
}

/** The problems of a fixture as [rule, line] pairs: short, exact, and they fail on any change. */
export function problemsOf(name: string): [string, number][] {
  return checkConfig(fixture(name)).map((problem) => [problem.rule, problem.line]);
}
