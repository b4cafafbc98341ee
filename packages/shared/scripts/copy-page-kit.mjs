#!/usr/bin/env node
// Copies the page kit (packages/shared/public: kit.css, kit.js) into an app's public/kit/, where
// Workers static assets serve it at /kit/. wrangler runs it as the app's custom build, before
// `wrangler dev` and `wrangler deploy` (wrangler.jsonc, "build"), so the kit has one source and
// costs nothing at runtime. The copy is git-ignored; `pnpm starter` writes it as real files.
//
//   node ../../packages/shared/scripts/copy-page-kit.mjs [app folder]   # default: the current folder
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The kit's own folder: every file in it is part of the kit. */
const PAGE_KIT_DIR = fileURLToPath(new URL("../public/", import.meta.url));

/** Where an app's page finds the kit, relative to the app's folder. */
const PAGE_KIT_TARGET = join("public", "kit");

/** Replaces `<appDir>/public/kit/` with a fresh copy of the kit (so a file removed from the kit goes too). */
export function copyPageKit(appDir) {
  const target = join(appDir, PAGE_KIT_TARGET);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  cpSync(PAGE_KIT_DIR, target, { recursive: true });
  return target;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  copyPageKit(resolve(process.argv[2] ?? "."));
}
