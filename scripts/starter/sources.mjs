// Small, dependency-free readers for the files the starter has to understand: the workspace
// catalog (pnpm-workspace.yaml), JSONC (wrangler.jsonc), and the import/export specifiers and
// exported names of TypeScript modules.
//
// None of these are full parsers, on purpose: the starter must run with nothing but Node. Their
// limits are stated next to each one, and the CI proof (scripts/starter-ci.sh) type-checks, tests
// and dry-run deploys every exported app, so a limit that bites shows up as a red build.
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * Reads the `catalog:` (default catalog) and `catalogs:` (named catalogs) maps of a
 * pnpm-workspace.yaml. Handles the block-map form pnpm writes (`name: version`, keys and values
 * optionally quoted, `#` comments); not flow maps (`{ a: 1 }`), anchors or multi-line values.
 *
 * @example
 * readCatalogs('catalog:\n  hono: 4.13.19\n').default.hono; // "4.13.19"
 */
export function readCatalogs(yaml) {
  const catalogs = { default: {} };
  let current = null; // the map entries are added to, or null outside a catalog
  let inNamed = false; // inside `catalogs:`, waiting for or reading a named catalog
  for (const rawLine of yaml.split(/\r?\n/)) {
    const line = stripYamlComment(rawLine);
    if (!line.trim()) continue;
    const indent = line.length - line.trimStart().length;
    const entry = /^\s*("[^"]+"|'[^']+'|[^:\s][^:]*?)\s*:\s*(.*?)\s*$/.exec(line);
    if (indent === 0) {
      current = null;
      inNamed = false;
      if (!entry) continue;
      const key = unquote(entry[1]);
      if (key === "catalog" && !entry[2]) current = catalogs.default;
      else if (key === "catalogs" && !entry[2]) inNamed = true;
      continue;
    }
    if (!entry) continue;
    const key = unquote(entry[1]);
    if (inNamed && !entry[2]) {
      current = catalogs[key] ??= {};
      continue;
    }
    if (current && entry[2]) current[key] = unquote(entry[2]);
  }
  return catalogs;
}

/**
 * The entries of one top-level block map of a YAML file (same limits as readCatalogs).
 *
 * @example
 * readTopLevelMap("allowBuilds:\n  esbuild: true\n", "allowBuilds"); // { esbuild: "true" }
 */
export function readTopLevelMap(yaml, key) {
  let inside = false;
  const map = {};
  for (const rawLine of yaml.split(/\r?\n/)) {
    const line = stripYamlComment(rawLine);
    if (!line.trim()) continue;
    const entry = /^\s*("[^"]+"|'[^']+'|[^:\s][^:]*?)\s*:\s*(.*?)\s*$/.exec(line);
    if (!/^\s/.test(line)) inside = Boolean(entry) && unquote(entry[1]) === key && !entry[2];
    else if (inside && entry && entry[2]) map[unquote(entry[1])] = unquote(entry[2]);
  }
  return map;
}

function stripYamlComment(line) {
  // A `#` starts a comment at the line start or after whitespace, outside quotes.
  let quote = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

function unquote(text) {
  const t = text.trim();
  return /^(["']).*\1$/.test(t) ? t.slice(1, -1) : t;
}

/**
 * Resolves a dependency specifier the way pnpm does for `catalog:` (`catalog:` is the default
 * catalog, `catalog:<name>` a named one). Throws on `workspace:` (the caller vendors those) and
 * on a package missing from the catalog.
 *
 * @example
 * resolveSpecifier("hono", "catalog:", { default: { hono: "4.13.19" } }); // "4.13.19"
 */
export function resolveSpecifier(name, spec, catalogs) {
  if (spec.startsWith("catalog:")) {
    const catalogName = spec.slice("catalog:".length) || "default";
    const version = catalogs[catalogName]?.[name];
    if (!version) throw new Error(`${name}: "${spec}" but pnpm-workspace.yaml's catalog has no entry for it`);
    return version;
  }
  if (spec.startsWith("workspace:")) throw new Error(`${name}: "${spec}" cannot leave the workspace`);
  return spec;
}

/**
 * Removes comments and trailing commas from JSONC so JSON.parse can read it. Strings (which may
 * contain `//`, as URLs do) are copied untouched.
 */
export function stripJsonc(text) {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 1;
    } else out += c;
  }
  return out.replace(/,(\s*[}\]])/g, "$1");
}

// Import/export specifiers are found with regular expressions over the source text. Limits: a
// specifier that only appears inside a comment or a string is still matched (the starter then
// vendors a module too many, never too few); computed `import(expr)` and `require()` are not seen;
// a `;` inside an import clause (never valid TypeScript) would cut the match short.
const FROM_CLAUSE = /(^|[\s;}])(import|export)(\s+type)?\s+([^;'"`]*?)\s*from\s*(["'])([^"'\n]+)\5/g;
const SIDE_EFFECT_IMPORT = /(^|[\s;])import\s*(["'])([^"'\n]+)\2/g;
const DYNAMIC_IMPORT = /\bimport\(\s*(["'])([^"'\n]+)\1\s*\)/g;

/**
 * Every `import ... from`, `export ... from`, side-effect `import "x"` and literal `import("x")`
 * in a module, with the clause between the keyword and `from` (`{ a, type B }`, `* as ns`, `*`).
 *
 * @example
 * findSpecifiers('import { a } from "./a";')[0]; // { kind: "import", clause: "{ a }", specifier: "./a", typeOnly: false }
 */
export function findSpecifiers(source) {
  const found = [];
  for (const m of source.matchAll(FROM_CLAUSE)) {
    found.push({ kind: m[2], clause: m[4].trim(), specifier: m[6], typeOnly: Boolean(m[3]) });
  }
  for (const m of source.matchAll(SIDE_EFFECT_IMPORT)) {
    found.push({ kind: "import", clause: "", specifier: m[3], typeOnly: false });
  }
  for (const m of source.matchAll(DYNAMIC_IMPORT)) {
    found.push({ kind: "import", clause: "*", specifier: m[2], typeOnly: false });
  }
  return found;
}

/**
 * The names an import clause takes: `["a", "B"]` for `{ a, type B as C }` (the exported names,
 * not the local aliases), `["*"]` for a namespace import, `["default"]` for a default import.
 */
export function importedNames(clause) {
  if (!clause || clause === "*" || /^\*\s+as\s/.test(clause)) return ["*"];
  const names = [];
  const braces = /\{([^}]*)\}/.exec(clause);
  const before = (braces ? clause.slice(0, braces.index) : clause).replace(/,\s*$/, "").trim();
  if (before && !before.startsWith("*")) names.push("default");
  if (/\*\s+as\s/.test(clause)) names.push("*");
  if (braces) {
    for (const part of braces[1].split(",")) {
      const name = part
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)[0]
        .trim();
      if (name) names.push(name);
    }
  }
  return names;
}

/**
 * The names a module exports by its own declarations or `export { ... }` lists, plus its
 * re-exports (`export * from`, `export { a as b } from`), which the caller follows.
 * Limits: a destructuring `export const { a, b } = ...` is read as its names only when the
 * pattern is flat.
 */
export function moduleExports(source) {
  const names = new Set();
  const declaration =
    /(?:^|[\s;}])export\s+(?:declare\s+)?(?:default\s+)?(?:abstract\s+)?(?:async\s+)?(?:const\s+enum|function\s*\*?|class|const|let|var|type|interface|enum|namespace)\s+([A-Za-z_$][\w$]*)/g;
  for (const m of source.matchAll(declaration)) names.add(m[1]);
  for (const m of source.matchAll(/(?:^|[\s;}])export\s+(?:const|let|var)\s+\{([^}]*)\}/g)) {
    for (const part of m[1].split(",")) {
      const name = part.split(":").pop().trim();
      if (name) names.add(name);
    }
  }
  if (/(?:^|[\s;}])export\s+default\b/.test(source)) names.add("default");
  // `export { a, b as c };` without `from`: local names made public under their outer names.
  for (const m of source.matchAll(/(?:^|[\s;}])export\s+(?:type\s+)?\{([^}]*)\}(?!\s*from)/g)) {
    for (const part of m[1].split(",")) {
      const name = part
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)
        .pop()
        .trim();
      if (name) names.add(name);
    }
  }
  const reexports = [];
  for (const s of findSpecifiers(source)) {
    if (s.kind !== "export") continue;
    if (s.clause === "*") reexports.push({ specifier: s.specifier, names: "*" });
    else if (/^\*\s+as\s+([\w$]+)/.test(s.clause)) names.add(/^\*\s+as\s+([\w$]+)/.exec(s.clause)[1]);
    else {
      const braces = /\{([^}]*)\}/.exec(s.clause);
      for (const part of braces ? braces[1].split(",") : []) {
        const name = part
          .trim()
          .replace(/^type\s+/, "")
          .split(/\s+as\s+/)
          .pop()
          .trim();
        if (name) names.add(name);
      }
    }
  }
  return { names, reexports };
}

const MODULE_EXTENSIONS = [".ts", ".tsx", ".mts", ".d.ts", ".js", ".mjs"];

/**
 * The file a relative specifier points at, trying what TypeScript's bundler resolution tries:
 * the exact path, then with each extension, `.js` written for a `.ts` file, then `index.*`.
 */
export function resolveRelative(fromFile, specifier) {
  // A bundler query (Vite's `./file?raw`, `?url`) names the same file.
  const base = join(dirname(fromFile), specifier.replace(/\?.*$/, ""));
  const candidates = [base, ...MODULE_EXTENSIONS.map((ext) => base + ext)];
  if (/\.(m?js)$/.test(base)) candidates.push(base.replace(/\.js$/, ".ts").replace(/\.mjs$/, ".mts"));
  candidates.push(...MODULE_EXTENSIONS.map((ext) => join(base, "index" + ext)));
  return candidates.find((file) => existsSync(file) && statSync(file).isFile()) ?? null;
}

/** `hono` for `hono/body-limit`, `@hono/zod-validator` for itself; null for `node:`/`cloudflare:` built-ins. */
export function packageOf(specifier) {
  if (/^[a-z]+:/.test(specifier)) return null;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}
