// Readers for the files the starter has to understand: the workspace manifest
// (pnpm-workspace.yaml, read with `yaml`), JSONC (wrangler.jsonc and tsconfig.json, read and edited
// with `jsonc-parser`, the parser VS Code uses), and the import/export specifiers and exported names
// of TypeScript modules (regular expressions; their limits are stated next to each one).
//
// `yaml` and `jsonc-parser` are root devDependencies: the starter runs inside this workspace after
// `pnpm install` (as it already needs Prettier), never in the exported project. The CI proof
// (scripts/template-ci.sh) type-checks, tests and dry-run deploys every exported app, so a limit
// that bites shows up as a red build.
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { applyEdits, modify, parse as parseJsoncText, printParseErrorCode } from "jsonc-parser";
import { parse as parseYaml } from "yaml";

/**
 * Reads the `catalog:` (default catalog) and `catalogs:` (named catalogs) maps of a
 * pnpm-workspace.yaml, in any YAML form (block or flow maps, quoted keys, comments). A version that
 * YAML reads as something other than a string (an unquoted `1.10` is the number 1.1) is refused,
 * not guessed.
 *
 * @example
 * readCatalogs('catalog:\n  hono: 4.13.19\n').default.hono; // "4.13.19"
 */
export function readCatalogs(yaml) {
  const manifest = readWorkspaceManifest(yaml);
  const catalogs = { default: versionMap(manifest.catalog, "catalog") };
  for (const [name, map] of Object.entries(mapAt(manifest, "catalogs"))) {
    // `catalogs: { default: ... }` is another spelling of `catalog:`.
    catalogs[name] = { ...catalogs[name], ...versionMap(map, `catalogs.${name}`) };
  }
  return catalogs;
}

/**
 * The packages whose install scripts pnpm-workspace.yaml's `allowBuilds:` allows (`name: true`).
 *
 * @example
 * allowedBuilds("allowBuilds:\n  esbuild: true\n  core-js: false\n"); // ["esbuild"]
 */
export function allowedBuilds(yaml) {
  return Object.entries(mapAt(readWorkspaceManifest(yaml), "allowBuilds"))
    .filter(([, allowed]) => allowed === true)
    .map(([pkg]) => pkg);
}

function readWorkspaceManifest(yaml) {
  const manifest = parseYaml(yaml) ?? {};
  if (typeof manifest !== "object" || Array.isArray(manifest)) throw new Error("pnpm-workspace.yaml is not a map");
  return manifest;
}

function mapAt(object, key) {
  return asMap(object[key], key);
}

/** An absent or empty (`key:` with nothing under it) map is `{}`; anything but a map is an error. */
function asMap(value, where) {
  if (value == null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new Error(`pnpm-workspace.yaml: ${where} is not a map`);
  return value;
}

function versionMap(map, where) {
  const versions = {};
  for (const [name, version] of Object.entries(asMap(map, where))) {
    if (typeof version !== "string") {
      throw new Error(`pnpm-workspace.yaml: ${where}.${name} is ${JSON.stringify(version)}, not a string; quote it`);
    }
    versions[name] = version;
  }
  return versions;
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
 * Parses JSONC (comments, trailing commas), as wrangler and TypeScript read wrangler.jsonc and
 * tsconfig.json. Throws on a syntax error, naming `file` and the line and column.
 *
 * @example
 * parseJsonc('{ "a": "https://x", // note\n }').a; // "https://x"
 */
export function parseJsonc(text, file = "JSONC") {
  const errors = [];
  const value = parseJsoncText(text, errors, { allowTrailingComma: true });
  if (errors.length) {
    const { error, offset } = errors[0];
    const lines = text.slice(0, offset).split("\n");
    throw new SyntaxError(`${file}:${lines.length}:${lines.at(-1).length + 1}: ${printParseErrorCode(error)}`);
  }
  return value;
}

/**
 * JSONC text with the value at `path` (`["name"]`, `["vars", "MODE"]`) set to `value`; only that
 * value's text changes, comments and layout stay.
 *
 * @example
 * setJsonc('{\n  // the Worker\n  "name": "a",\n}', ["name"], "b"); // '{\n  // the Worker\n  "name": "b",\n}'
 */
export function setJsonc(text, path, value) {
  const edits = modify(text, path, value, { formattingOptions: { insertSpaces: true, tabSize: 2, eol: "\n" } });
  return applyEdits(text, edits);
}

/**
 * JSONC text without the property at `path`; the text around it stays as it was (no reformatting).
 *
 * @example
 * removeJsonc('{\n  "a": 1,\n  "b": { "c": 2 },\n}', ["b"]); // '{\n  "a": 1,\n}'
 */
export function removeJsonc(text, path) {
  return applyEdits(text, modify(text, path, undefined, {}));
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
