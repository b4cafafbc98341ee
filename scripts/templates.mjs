#!/usr/bin/env node
// `pnpm templates`: writes templates/<app> for every app: what `pnpm starter <app>` exports, kept
// in the repository so that `npm create cloudflare@latest -- --template=<repository>/templates/<app>`
// and a Deploy to Cloudflare button, which both need a self-contained folder, can use it. Each
// keeps its package-lock.json, refreshed by `npm install --package-lock-only`.
//
// `pnpm templates [app ...]` does only those apps. `pnpm templates --check` (CI) writes nothing: it fails when a template is not exactly what the
// apps give now, so a template can never drift from its app. The lockfile is checked by CI's
// `npm ci` in a copy of the folder (scripts/template-ci.sh), which refuses one out of step.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { MADE_AT_INSTALL, SKIPPED, exportApp, listApps } from "./starter/export.mjs";
import { formatRewritten } from "./starter/format.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
// Made by a template's own install and tests, never part of it: what the export never copies.
const LOCAL = new Set([...SKIPPED, ...MADE_AT_INSTALL]);
const LOCKFILE = "package-lock.json";

const args = process.argv.slice(2);
const check = args.includes("--check");
const known = listApps(root);
const chosen = args.filter((a) => a !== "--check");
const unknown = chosen.find((a) => !known.includes(a));
if (unknown) {
  console.error(
    `templates: unknown app or option ${unknown}\nUsage: pnpm templates [--check] [app ...]\nApps: ${known.join(", ")}`,
  );
  process.exit(1);
}

const scratch = mkdtempSync(join(tmpdir(), "templates-"));
let stale = 0;
try {
  for (const app of chosen.length ? chosen : known) {
    const fresh = join(scratch, app); // named like its app: the package and the Worker are `<app>`
    const result = exportApp({ root, app, target: fresh, template: true });
    await formatRewritten(result.rewritten);
    const template = join(root, "templates", app);
    if (check) {
      const differences = compare(fresh, template);
      if (differences.length) {
        stale++;
        console.error(`templates/${app} is not what apps/${app} gives now:\n  ${differences.join("\n  ")}`);
      } else console.log(`templates/${app}: up to date`);
      continue;
    }
    const lockfile = join(template, LOCKFILE);
    const lock = existsSync(lockfile) ? readFileSync(lockfile) : null;
    rmSync(template, { recursive: true, force: true });
    cpSync(fresh, template, { recursive: true });
    if (lock) writeFileSync(lockfile, lock); // refreshed below, not re-resolved from scratch
    execFileSync("npm", ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"], {
      cwd: template,
      stdio: ["ignore", "ignore", "inherit"],
    });
    console.log(`templates/${app}: written (${filesUnder(template).length} files)`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (stale) {
  console.error(`\n${stale} template(s) out of date: run \`pnpm templates\` and commit templates/.`);
  process.exit(1);
}

/** The files that differ between two folders (missing, extra or changed), ignoring local state. */
function compare(expected, actual) {
  if (!existsSync(actual)) return ["(the folder is missing)"];
  const want = new Set(filesUnder(expected));
  const have = new Set(filesUnder(actual).filter((f) => f !== LOCKFILE));
  const out = [];
  for (const f of want) {
    if (!have.has(f)) out.push(`missing: ${f}`);
    else if (!readFileSync(join(expected, f)).equals(readFileSync(join(actual, f)))) out.push(`changed: ${f}`);
  }
  for (const f of have) if (!want.has(f)) out.push(`extra: ${f}`);
  if (!existsSync(join(actual, LOCKFILE))) out.push(`missing: ${LOCKFILE}`);
  return out.sort();
}

function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      if (LOCAL.has(name)) continue;
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path).split(sep).join("/"));
    }
  };
  walk(dir);
  return out;
}
