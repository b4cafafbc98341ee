#!/usr/bin/env node
// `pnpm starter <app> <dir>`: writes apps/<app> as a standalone project in <dir>, with the parts of
// packages/shared it uses vendored as plain source and every `catalog:` version made concrete, so
// it installs with npm or pnpm outside this repository. Runs inside the workspace after `pnpm install`
// (it uses Prettier, `yaml` and `jsonc-parser` from the root devDependencies).
//
// The steps live in scripts/starter/: export.mjs (files, package.json, tsconfig, wrangler.jsonc),
// vendor.mjs (which shared modules the app uses), readme.mjs (the README), sources.mjs (parsers).
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { StarterError, exportApp, listApps } from "./starter/export.mjs";
import { formatRewritten } from "./starter/format.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

const USAGE = `Usage: pnpm starter <app> <dir>

Writes apps/<app> as a standalone project in <dir> (which must not exist or be empty):
its source, tests, web page and configs; the parts of packages/shared it uses, vendored into
src/shared/; a package.json with concrete versions (no catalog:, no workspace:).

Apps: ${listApps(root).join(", ") || "(none)"}

Example:
  pnpm starter counter ../my-counter
  cd ../my-counter && npm install && npm test && npx wrangler deploy --dry-run`;

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
const unknownFlag = args.find((a) => a.startsWith("-"));
if (unknownFlag || args.length !== 2) {
  console.error(unknownFlag ? `starter: unknown option ${unknownFlag}\n` : "starter: expected <app> and <dir>\n");
  console.error(USAGE);
  process.exit(1);
}

// pnpm runs root scripts from the workspace root; INIT_CWD is where the user typed the command.
const cwd = process.env.INIT_CWD ?? process.cwd();
const [app, dir] = args;
let result;
try {
  result = exportApp({ root, app, target: resolve(cwd, dir) });
} catch (error) {
  if (!(error instanceof StarterError)) throw error;
  console.error(`starter: ${error.message}`);
  process.exit(1);
}

await formatRewritten(result.rewritten);

const shown = (list) => list.join(", ") || "none";
console.log(`Wrote ${result.target} (package "${result.name}") from ${result.origin.path}.`);
console.log(`\nCopied: ${shown(topLevel(result.copied))}.`);
for (const v of result.vendored) {
  console.log(`\nVendored ${v.name} into ${v.dir}/, because the app imports ${shown(v.names)}:`);
  console.log(`  ${shown(v.files)}`);
  if (v.left.length) console.log(`  left out (unused): ${shown(v.left)}`);
  if (v.npm.length) console.log(`  which need: ${shown(v.npm)} (the app's own, or added to its dependencies)`);
  // The page kit is linked from the pages by URL (/kit/...), not imported by code.
  if (v.dir !== "public/kit") console.log(`  Imports of "${v.name}" now point at ${v.dir}/.`);
  else console.log(`  The pages link it at /kit/; the workspace's build step that copied it is dropped.`);
}
for (const tool of result.commands) {
  console.log(`\nVendored ${tool.name} into ${tool.dir}/ (the scripts run it as \`${tool.command}\`).`);
}
for (const tool of result.lintTools) {
  console.log(`\nVendored ${tool.name} into ${tool.dir}/ (eslint.config.js uses its Durable Object rules).`);
}
console.log(`\nDependencies (concrete versions from pnpm-workspace.yaml's catalog):`);
for (const [name, version] of Object.entries({ ...result.dependencies, ...result.devDependencies })) {
  console.log(`  ${name} ${version}`);
}
console.log(`
Also written: tsconfig.json (tsconfig.base.json inlined), eslint.config.js and .prettierrc.json
(copied from the repository root; "lint" also runs prettier --check), .gitignore,
pnpm-workspace.yaml (lets pnpm run the esbuild/workerd/sharp install scripts; npm ignores it),
wrangler.jsonc ($schema points into node_modules; Worker named "${result.workerName}"), and the
README with a header saying where it came from.${
  result.unlinked.length
    ? `\nREADME links to files outside the app were turned into plain text: ${shown(result.unlinked)}`
    : ""
}

Next steps:
  cd ${dir}
  npm install          # or pnpm install
  npm test             # the tests, inside workerd
  npx wrangler deploy --dry-run
  npm run dev          # then, when ready: npx wrangler login && npm run deploy`);

function topLevel(paths) {
  return [...new Set(paths.map((p) => (p.includes("/") ? p.split("/")[0] + "/" : p)))];
}
