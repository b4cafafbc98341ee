// Vendored from durable-patterns packages/config-check/src/index.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
/**
 * durable-config-check: the Durable Object traps a wrangler.jsonc can hold, found before deploy.
 *
 * @example
 *   import { checkConfig, formatProblems } from "@durable-patterns/config-check";
 *   const problems = checkConfig("wrangler.jsonc");
 *   if (problems.length) throw new Error(formatProblems(problems));
 */
export { checkConfig, checkWarnings, formatProblems, MIN_COMPATIBILITY_DATE } from "./check.js";
export { acknowledgements, ACKNOWLEDGEABLE } from "./acknowledgements.js";
export { moduleExports } from "./exports.js";
export { parseJsonc } from "./jsonc.js";
