#!/usr/bin/env node
// Vendored from durable-patterns packages/config-check/bin/durable-config-check.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
import { existsSync } from "node:fs";
import { checkConfig, checkWarnings, formatProblems } from "../src/index.js";

const USAGE = `Usage: durable-config-check [wrangler.jsonc ...]

Checks each wrangler config (default: ./wrangler.jsonc, else ./wrangler.json) for the Durable
Object traps: duplicate or out-of-order migration tags, KV-backed classes (new_classes),
deleted/renamed/transferred classes without an acknowledgement comment, bound classes that main
does not export or no migration creates, and a missing or pre-2024-04-03 compatibility_date.
Warns (without failing) when observability is not enabled: Workers Logs would keep nothing.

Acknowledge an intended migration with a comment in the config, e.g.
  // durable-config-check: allow deleted_classes OldRoom

Exit status: 0 clean, 1 problems found, 2 a file could not be read.`;

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
const files = args.length ? args : [existsSync("wrangler.jsonc") ? "wrangler.jsonc" : "wrangler.json"];

let found = 0;
for (const file of files) {
  if (!existsSync(file)) {
    console.error(`durable-config-check: ${file}: no such file`);
    process.exit(2);
  }
  const problems = checkConfig(file);
  found += problems.length;
  if (problems.length) console.error(formatProblems(problems));
  const warnings = checkWarnings(file);
  if (warnings.length) console.error(formatProblems(warnings, "warning"));
}
const summary = `durable-config-check: ${files.join(", ")}: ${found ? `${found} problem${found === 1 ? "" : "s"}` : "no problems"}`;
if (found) {
  console.error(summary);
  process.exit(1);
}
console.log(summary);
