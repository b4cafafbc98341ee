// Writes one app of the workspace as a standalone project. See scripts/starter.mjs for the CLI.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { adaptReadme } from "./readme.mjs";
import {
  allowedBuilds,
  findSpecifiers,
  packageOf,
  parseJsonc,
  readCatalogs,
  removeJsonc,
  resolveRelative,
  resolveSpecifier,
  setJsonc,
} from "./sources.mjs";
import { planVendoring } from "./vendor.mjs";

/** Raised for a mistake of the caller (bad app, non-empty target); the CLI prints only its message. */
export class StarterError extends Error {}

// Never copied: installs, build and test output, local state, and secrets (.dev.vars holds real
// secrets; .dev.vars.example is copied).
export const SKIPPED = new Set([
  "node_modules",
  ".wrangler",
  ".turbo",
  "test-results",
  "dist",
  ".dev.vars",
  ".DS_Store",
]);
// Written by the starter instead of copied.
const GENERATED = new Set(["package.json", "tsconfig.json", "README.md", "wrangler.jsonc"]);
// Made at install (`postinstall: wrangler types`) instead of copied: 600 KB of generated text per
// project, reproducible from wrangler.jsonc and the pinned wrangler.
export const MADE_AT_INSTALL = new Set(["worker-configuration.d.ts"]);
const CODE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
// The page kit the apps' web pages share (kit.css, kit.js): in the workspace, an app's wrangler build
// step copies it into the app's public/kit/ (git-ignored); an export gets real copies instead, and
// no build step, which would point outside the project.
const PAGE_KIT = {
  source: join("packages", "shared", "public"),
  target: join("public", "kit"),
  script: "copy-page-kit",
};
// The root devDependencies a standalone project needs for its lint script (eslint.config.js and
// .prettierrc.json are copied from the root).
const LINT_TOOLS = ["@eslint/js", "eslint", "globals", "prettier", "typescript-eslint"];

/** The apps a workspace offers: apps/<name> folders with a package.json. */
export function listApps(root) {
  const appsDir = join(root, "apps");
  if (!existsSync(appsDir)) return [];
  return readdirSync(appsDir)
    .filter((name) => existsSync(join(appsDir, name, "package.json")))
    .sort();
}

/**
 * A valid npm package name (and Cloudflare Worker name) from a directory name: lower case,
 * `a-z 0-9 -` only, at most 63 characters (the Worker limit).
 *
 * @example
 * projectName("/tmp/My Product!"); // "my-product"
 */
export function projectName(dir, fallback = "app") {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return name || fallback;
}

/**
 * Exports `apps/<app>` of the workspace at `root` into `target` (created; must be empty).
 * Returns what it did, for the CLI's closing explanation. A `template` (templates/<app>, kept in
 * the repository) names no commit, so it changes only when the app does.
 */
export function exportApp({ root, app, target, template = false }) {
  const apps = listApps(root);
  if (!apps.includes(app)) {
    throw new StarterError(`unknown app "${app}". Known apps: ${apps.join(", ") || "(none)"}`);
  }
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new StarterError(`${target} exists and is not a directory`);
    if (readdirSync(target).length) {
      throw new StarterError(`${target} is not empty; choose a new or empty directory (nothing was written)`);
    }
  }
  const appDir = join(root, "apps", app);
  const name = projectName(target, app);
  const workspaceYaml = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  const catalogs = readCatalogs(workspaceYaml);
  // The dependencies whose install scripts must run, as the workspace allows them (esbuild, workerd
  // and sharp unpack the platform binaries wrangler needs).
  const trusted = allowedBuilds(workspaceYaml);
  const rootManifest = readJson(join(root, "package.json"));
  const appManifest = readJson(join(appDir, "package.json"));
  const origin = template ? { app, path: `apps/${app}`, commit: null } : describeOrigin(root, app);
  const workspacePackages = findWorkspacePackages(root);

  const wranglerSource = readFileSync(join(appDir, "wrangler.jsonc"), "utf8");
  const usesPageKit = buildsPageKit(wranglerSource, app);
  // The app's own copy of the kit is made locally by its build step: the export writes a fresh one.
  const appFiles = walk(appDir).filter((f) => !(usesPageKit && isWithin(join(appDir, PAGE_KIT.target), f)));
  const appCode = appFiles.filter((f) => CODE.test(f));

  // Workspace dependencies become vendored source under src/<package folder>/.
  const dependencies = {};
  const devDependencies = {};
  const vendored = [];
  const commands = []; // workspace packages the app's scripts run as commands (the config check)
  const rewrites = new Map(); // specifier -> vendored file (no extension) or folder (its index.ts)
  const deps = [
    ...Object.entries(appManifest.dependencies ?? {}).map(([n, s]) => [n, s, dependencies]),
    ...Object.entries(appManifest.devDependencies ?? {}).map(([n, s]) => [n, s, devDependencies]),
  ];
  for (const [dep, spec, into] of deps) {
    if (!spec.startsWith("workspace:")) {
      into[dep] = resolveSpecifier(dep, spec, catalogs);
      continue;
    }
    const packageDir = workspacePackages.get(dep);
    if (!packageDir) throw new Error(`${dep} (${spec}) is not a package of this workspace`);
    const tool = vendorCommand({ root, target, origin, packageDir, appManifest, catalogs, devDependencies });
    if (tool) {
      commands.push(tool);
      continue;
    }
    const vendorDir = join(target, "src", basename(packageDir));
    if (existsSync(join(appDir, "src", basename(packageDir)))) {
      throw new Error(`apps/${app}/src/${basename(packageDir)} exists; cannot vendor ${dep} there`);
    }
    const plan = planVendoring({ packageName: dep, packageDir, appFiles: appCode });
    const packageManifest = readJson(join(packageDir, "package.json"));
    const packageDeps = { ...packageManifest.devDependencies, ...packageManifest.dependencies };
    for (const pkg of plan.bareImports) {
      // What the app declares itself stays where it is: test-only modules (testing.ts, vitest.ts,
      // e2e.mjs) import packages the app has as devDependencies (vitest, playwright-core).
      if (dependencies[pkg] || devDependencies[pkg] || appManifest.dependencies?.[pkg]) continue;
      if (appManifest.devDependencies?.[pkg]) continue;
      const pkgSpec = packageDeps[pkg];
      if (!pkgSpec) throw new Error(`vendored ${dep} imports ${pkg}, which its package.json does not declare`);
      dependencies[pkg] = resolveSpecifier(pkg, pkgSpec, catalogs);
    }
    const srcDir = join(packageDir, "src");
    const sourceRoot = plan.files.every((f) => f.startsWith(srcDir + sep)) ? srcDir : packageDir;
    for (const file of plan.files) {
      const rel = relative(sourceRoot, file);
      const repoPath = relative(root, file).split(sep).join("/");
      write(join(vendorDir, rel), vendoredHeader(repoPath, origin) + readFileSync(file, "utf8"));
    }
    if (plan.index !== null) {
      const indexNote = `// Re-exports only the modules of ${dep} this app uses; the rest of the package was left out.\n`;
      write(
        join(vendorDir, "index.ts"),
        vendoredHeader(relative(root, join(sourceRoot, "index.ts")).split(sep).join("/"), origin) +
          indexNote +
          plan.index,
      );
      rewrites.set(dep, vendorDir);
    }
    for (const [specifier, file] of plan.subpaths) {
      rewrites.set(specifier, join(vendorDir, relative(sourceRoot, file)).replace(/\.(m?ts|tsx)$/, ""));
    }
    vendored.push({
      name: dep,
      dir: relative(target, vendorDir).split(sep).join("/"),
      packageDir,
      sourceDir: sourceRoot,
      names: plan.names,
      files: plan.files.map((f) => relative(sourceRoot, f)),
      left: walk(sourceRoot)
        // The package's own index.ts is replaced by one that re-exports only what was vendored.
        .filter(
          (f) =>
            CODE.test(f) && !plan.files.includes(f) && !(plan.index !== null && f === join(sourceRoot, "index.ts")),
        )
        .map((f) => relative(sourceRoot, f)),
      npm: [...plan.bareImports].sort(),
    });
  }
  if (usesPageKit) vendored.push(vendorPageKit({ root, target, origin }));
  for (const tool of LINT_TOOLS) {
    if (!dependencies[tool] && !devDependencies[tool]) {
      devDependencies[tool] = resolveSpecifier(tool, rootManifest.devDependencies[tool] ?? "catalog:", catalogs);
    }
  }

  // The app's own files, with imports of vendored packages pointed at the copies.
  const copied = [];
  const rewritten = []; // files whose imports changed: their line breaks may no longer be Prettier's
  for (const file of appFiles) {
    const rel = relative(appDir, file);
    if (GENERATED.has(rel) || MADE_AT_INSTALL.has(rel)) continue;
    const dest = join(target, rel);
    let content = readFileSync(file);
    if (CODE.test(file)) {
      const original = content.toString("utf8");
      content = rewriteImports(original, dirname(dest), rewrites);
      if (content !== original) rewritten.push(dest);
    }
    write(dest, content);
    copied.push(rel.split(sep).join("/"));
  }

  write(join(target, "tsconfig.json"), standaloneTsconfig(root, appDir));
  if (existsSync(join(root, ".prettierrc.json")))
    write(join(target, ".prettierrc.json"), readFileSync(join(root, ".prettierrc.json")));
  const lintTools = [];
  if (existsSync(join(root, "eslint.config.js"))) {
    const eslint = standaloneEslintConfig({ root, target, origin, workspacePackages, catalogs, devDependencies });
    write(join(target, "eslint.config.js"), eslint.text);
    lintTools.push(...eslint.vendored);
  }
  const scripts = { ...appManifest.scripts };
  for (const { bin, command } of commands) {
    for (const [key, script] of Object.entries(scripts)) {
      scripts[key] = script.replace(new RegExp(`(^|&&\\s*|;\\s*)${escapeRegExp(bin)}(?=\\s|$)`, "g"), `$1${command}`);
    }
  }
  if (scripts.lint) scripts.lint = `${scripts.lint} && prettier --check .`;
  scripts.postinstall = "wrangler types";
  scripts.format ??= "prettier --write .";
  const manifest = {
    name,
    version: "0.0.0",
    private: true,
    type: "module",
    description: appManifest.description,
    // What Cloudflare's template gallery and Deploy button read: label, products, secrets' descriptions.
    ...(appManifest.cloudflare ? { cloudflare: appManifest.cloudflare } : {}),
    engines: { node: rootManifest.engines?.node ?? ">=22.12" },
    scripts,
    dependencies: sortKeys(dependencies),
    devDependencies: sortKeys(devDependencies),
    // npm (from 11.16) lists, and from npm 12 skips, dependency install scripts not allowed here;
    // pnpm reads the same list from pnpm-workspace.yaml. They unpack platform binaries wrangler needs.
    allowScripts: Object.fromEntries(trusted.map((pkg) => [pkg, true])),
  };
  write(join(target, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
  write(
    join(target, ".prettierignore"),
    "worker-configuration.d.ts\n**/test-results/**\npackage-lock.json\npnpm-lock.yaml\n",
  );
  write(join(target, ".gitignore"), GITIGNORE);
  write(join(target, "pnpm-workspace.yaml"), pnpmWorkspace(trusted));

  const wrangler = standaloneWrangler(wranglerSource, name, { dropBuild: usesPageKit });
  write(join(target, "wrangler.jsonc"), wrangler.text);

  const readmeSource = existsSync(join(appDir, "README.md"))
    ? readFileSync(join(appDir, "README.md"), "utf8")
    : `# ${app}\n`;
  const readme = adaptReadme(readmeSource, {
    app,
    appDir,
    root,
    origin,
    vendored,
    rootReadme: existsSync(join(root, "README.md")) ? readFileSync(join(root, "README.md"), "utf8") : "",
  });
  write(join(target, "README.md"), readme.text);
  // Rewritten links change the width of table cells: Prettier aligns the tables again.
  rewritten.push(join(target, "README.md"));

  return {
    name,
    target,
    origin,
    copied,
    rewritten,
    vendored,
    lintTools,
    dependencies,
    devDependencies,
    commands,
    workerName: wrangler.workerName,
    unlinked: readme.unlinked,
  };
}

const GITIGNORE = `node_modules/
worker-configuration.d.ts
.wrangler/
dist/
test-results/
.dev.vars
.dev.vars.*
!.dev.vars.example
*.log
`;

function pnpmWorkspace(trusted) {
  return (
    "# Read by pnpm only (npm reads package.json's allowScripts). pnpm runs no install scripts it was\n" +
    "# not told to trust; these unpack the platform binaries (esbuild, workerd) that wrangler needs.\n" +
    `allowBuilds:\n${trusted.map((pkg) => `  ${pkg}: true\n`).join("")}`
  );
}

/**
 * A workspace package whose command the app's scripts run (the Durable Object config check in
 * `check`) is vendored like the lint plugin: the files it publishes, at its workspace path, its
 * npm dependencies as devDependencies, and the scripts call it with `node <path to its bin>`.
 * Returns null for a package that is not such a command.
 */
function vendorCommand({ root, target, origin, packageDir, appManifest, catalogs, devDependencies }) {
  const manifest = readJson(join(packageDir, "package.json"));
  const scriptText = Object.values(appManifest.scripts ?? {}).join("\n");
  const [bin, binPath] =
    Object.entries(typeof manifest.bin === "string" ? { [manifest.name]: manifest.bin } : (manifest.bin ?? {})).find(
      ([name]) => new RegExp(`(^|\\s)${escapeRegExp(name)}(\\s|$)`, "m").test(scriptText),
    ) ?? [];
  if (!bin) return null;
  const folder = relative(root, packageDir).split(sep).join("/");
  const files = (manifest.files ?? ["src"]).flatMap((entry) => {
    const path = join(packageDir, entry);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
  for (const path of files) {
    const repoPath = relative(root, path).split(sep).join("/");
    const body = readFileSync(path, "utf8");
    // A shebang must stay the first line, so the note goes after it.
    const [shebang, rest] = body.startsWith("#!")
      ? [body.slice(0, body.indexOf("\n") + 1), body.slice(body.indexOf("\n") + 1)]
      : ["", body];
    write(
      join(target, folder, relative(packageDir, path)),
      CODE.test(path) ? shebang + vendoredHeader(repoPath, origin) + rest : body,
    );
  }
  for (const [pkg, spec] of Object.entries(manifest.dependencies ?? {})) {
    devDependencies[pkg] ??= resolveSpecifier(pkg, spec, catalogs);
  }
  return { name: manifest.name, bin, dir: folder, command: `node ${folder}/${binPath.replace(/^\.\//, "")}` };
}

/**
 * The root eslint.config.js for the project. Relative imports of workspace packages (the Durable
 * Object rules in packages/eslint-plugin) are vendored with the files the package publishes
 * (`files`: its source and the rule docs its rules link to) into the same path in the project.
 */
function standaloneEslintConfig({ root, target, origin, workspacePackages, catalogs, devDependencies }) {
  let text = readFileSync(join(root, "eslint.config.js"), "utf8");
  const vendored = [];
  for (const s of findSpecifiers(text)) {
    if (!s.specifier.startsWith(".")) continue;
    const file = resolveRelative(join(root, "eslint.config.js"), s.specifier);
    const packageDir = [...workspacePackages.values()].find((dir) => file?.startsWith(dir + sep));
    if (!packageDir) throw new Error(`eslint.config.js imports ${s.specifier}, which is not in a workspace package`);
    // Kept at its workspace path, so the config's import and its globs (which Prettier has laid out)
    // stay exactly as they are.
    const folder = relative(root, packageDir).split(sep).join("/");
    const manifest = readJson(join(packageDir, "package.json"));
    const copiedFiles = (manifest.files ?? ["src"]).flatMap((entry) => {
      const path = join(packageDir, entry);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
    for (const path of copiedFiles) {
      const repoPath = relative(root, path).split(sep).join("/");
      const body = readFileSync(path, "utf8");
      write(
        join(target, folder, relative(packageDir, path)),
        CODE.test(path) ? vendoredHeader(repoPath, origin) + body : body,
      );
      if (!CODE.test(path)) continue;
      for (const { specifier } of findSpecifiers(body)) {
        const pkg = packageOf(specifier);
        if (!pkg || specifier.startsWith(".") || devDependencies[pkg] || pkg === manifest.name) continue;
        const spec = manifest.dependencies?.[pkg] ?? manifest.devDependencies?.[pkg];
        if (!spec) throw new Error(`${repoPath} imports ${pkg}, which ${manifest.name} does not declare`);
        devDependencies[pkg] = resolveSpecifier(pkg, spec, catalogs);
      }
    }
    const newSpecifier = `./${folder}/${relative(packageDir, file).split(sep).join("/")}`;
    // The comment above the import explained the workspace's relative path; say what it is now.
    text = text.replace(
      new RegExp(`(?:^//.*\\n)*(^import[^;]*["']${escapeRegExp(s.specifier)}["'];?)`, "m"),
      (_, statement) =>
        `// The Durable Object rules of ${manifest.name}, vendored as plain source from durable-patterns.\n` +
        statement.replace(s.specifier, newSpecifier),
    );
    vendored.push({ name: manifest.name, dir: folder });
  }
  return { text, vendored };
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function vendoredHeader(repoPath, origin) {
  return (
    `// Vendored from durable-patterns ${repoPath}${origin.commit ? ` (commit ${origin.commit})` : ""} by \`pnpm starter\`.\n` +
    `// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.\n`
  );
}

/** Points every import of a vendored package (root or subpath) at its copy, relative to `fromDir`. */
export function rewriteImports(source, fromDir, rewrites) {
  return source.replace(
    /(["'])(@[\w.-]+\/[\w.-]+(?:\/[\w./-]+)?|[\w.-]+(?:\/[\w./-]+)?)\1/g,
    (literal, quote, specifier) => {
      const target = rewrites.get(specifier);
      if (!target) return literal;
      let rel = relative(fromDir, target).split(sep).join("/");
      if (!rel.startsWith(".")) rel = "./" + rel;
      return quote + rel + quote;
    },
  );
}

function standaloneTsconfig(root, appDir) {
  const app = readJsonc(join(appDir, "tsconfig.json"));
  let compilerOptions = {};
  if (app.extends) {
    const base = readJsonc(join(appDir, app.extends));
    if (base.extends) throw new Error(`${app.extends} extends another config; the starter inlines one level only`);
    compilerOptions = { ...base.compilerOptions };
  }
  const config = { compilerOptions: { ...compilerOptions, ...app.compilerOptions } };
  for (const key of ["include", "exclude", "files"]) if (app[key]) config[key] = app[key];
  return formatJson(config) + "\n";
}

/** JSON like Prettier writes it: objects one key per line, short arrays of scalars on one line. */
function formatJson(value, indent = "") {
  if (Array.isArray(value)) {
    const inline = `[${value.map((v) => JSON.stringify(v)).join(", ")}]`;
    if (value.every((v) => typeof v !== "object" || v === null) && inline.length + indent.length < 100) return inline;
    return `[\n${value.map((v) => indent + "  " + formatJson(v, indent + "  ")).join(",\n")}\n${indent}]`;
  }
  if (value && typeof value === "object") {
    const entries = Object.entries(value).map(
      ([k, v]) => `${indent}  ${JSON.stringify(k)}: ${formatJson(v, indent + "  ")}`,
    );
    return `{\n${entries.join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/**
 * Whether the app's wrangler.jsonc copies the page kit in its build step. Any other build step is
 * refused: it would run a workspace command the project does not have.
 */
function buildsPageKit(wranglerText, app) {
  const command = parseJsonc(wranglerText, "wrangler.jsonc").build?.command;
  if (command === undefined) return false;
  if (!command.includes(PAGE_KIT.script)) {
    throw new StarterError(`apps/${app}/wrangler.jsonc has a build step (${command}) the starter cannot export`);
  }
  return true;
}

/**
 * Copies the page kit into the project's public/kit/ as plain files, each saying where it came
 * from. Described like a vendored package, so the README's header and links and the CLI's
 * summary name it.
 */
function vendorPageKit({ root, target, origin }) {
  const sourceDir = join(root, PAGE_KIT.source);
  const files = walk(sourceDir);
  for (const file of files) {
    const repoPath = relative(root, file).split(sep).join("/");
    const header = vendoredHeader(repoPath, origin);
    const body = readFileSync(file, "utf8");
    const note = file.endsWith(".css")
      ? `/*
${header.replace(/^\/\/ /gm, " * ")} */
`
      : header;
    write(join(target, PAGE_KIT.target, relative(sourceDir, file)), note + body);
  }
  return {
    name: PAGE_KIT.source.split(sep).join("/"),
    dir: PAGE_KIT.target.split(sep).join("/"),
    packageDir: sourceDir,
    sourceDir,
    names: files.map((file) => `/kit/${relative(sourceDir, file).split(sep).join("/")}`),
    files: files.map((file) => relative(sourceDir, file)),
    left: [],
    npm: [],
  };
}

/**
 * The app's wrangler.jsonc with `$schema` pointing into the project's node_modules, the Worker
 * named after the project and, with `dropBuild`, no build step. Only those top-level values
 * change; comments and layout stay.
 */
function standaloneWrangler(text, name, { dropBuild = false } = {}) {
  const config = parseJsonc(text, "wrangler.jsonc");
  let out = dropBuild ? removeJsonc(text, ["build"]) : text;
  if (typeof config.$schema === "string" && config.$schema.endsWith("config-schema.json")) {
    out = setJsonc(out, ["$schema"], "./node_modules/wrangler/config-schema.json");
  }
  let workerName = config.name;
  if (typeof workerName === "string" && workerName !== name) {
    out = setJsonc(out, ["name"], name);
    workerName = name;
  }
  return { text: out, workerName };
}

function findWorkspacePackages(root) {
  const found = new Map();
  for (const group of ["packages", "apps"]) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir)) {
      const manifest = join(dir, entry, "package.json");
      if (existsSync(manifest)) found.set(readJson(manifest).name, join(dir, entry));
    }
  }
  return found;
}

function describeOrigin(root, app) {
  let commit = null;
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
  } catch {
    // not a git checkout: the header just omits the commit
  }
  return { app, path: `apps/${app}`, commit };
}

/** Every file under `dir`, skipping installs, output and secrets. */
function walk(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name) || entry.name.endsWith(".log")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...walk(path));
    else if (entry.isFile()) files.push(path);
  }
  return files.sort();
}

function isWithin(dir, file) {
  const rel = relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !rel.startsWith(sep);
}

function write(path, content) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

function readJsonc(path) {
  return parseJsonc(readFileSync(path, "utf8"), path);
}

function sortKeys(object) {
  return Object.fromEntries(Object.entries(object).sort(([a], [b]) => a.localeCompare(b)));
}
