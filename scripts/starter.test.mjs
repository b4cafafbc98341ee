// Tests of `pnpm starter <app> <dir>`, fast and offline (no install): run with
//   node --test scripts/starter.test.mjs
// scripts/template-ci.sh is the slow proof that every template (an export kept in templates/) installs,
// tests and deploys on its own.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { exportApp, listApps, projectName } from "./starter/export.mjs";
import {
  allowedBuilds,
  findSpecifiers,
  importedNames,
  parseJsonc,
  readCatalogs,
  resolveRelative,
} from "./starter/sources.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "scripts", "starter.mjs");
const scratch = mkdtempSync(join(tmpdir(), "starter-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

let counter = 0;
const freshDir = (name = "project") => join(scratch, `${++counter}`, name);
const runCli = (...args) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, INIT_CWD: scratch } });
const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** A tiny workspace shaped like this one, to show what is vendored without depending on today's apps. */
function fixtureWorkspace(appSource) {
  const ws = join(scratch, `ws-${++counter}`);
  const files = {
    "package.json": JSON.stringify({ name: "ws", devDependencies: { eslint: "catalog:", prettier: "catalog:" } }),
    "pnpm-workspace.yaml": [
      "packages:\n  - apps/*\n  - packages/*\n",
      "catalog:\n  hono: 4.0.0 # the router\n  croner: 9.0.0\n  eslint: 10.0.0\n  prettier: 3.0.0\n",
      '  "@eslint/js": 10.0.1\n  globals: 17.0.0\n  typescript-eslint: 8.0.0\n  wrangler: 4.0.0\n',
      "catalogs:\n  legacy:\n    zod: 3.25.0\n",
      "allowBuilds:\n  workerd: true\n  esbuild: true\n",
    ].join(""),
    "tsconfig.base.json": JSON.stringify({ compilerOptions: { strict: true, lib: ["es2024"] } }),
    "eslint.config.js": "export default [];\n",
    "packages/shared/package.json": JSON.stringify({
      name: "@durable-patterns/shared",
      exports: { ".": "./src/index.ts", "./*": "./src/*.ts" },
      dependencies: { hono: "catalog:", croner: "catalog:", zod: "catalog:legacy" },
    }),
    "packages/shared/src/index.ts": 'export * from "./greet";\nexport * from "./cron";\nexport * from "./unused";\n',
    "packages/shared/src/greet.ts":
      'import { Hono } from "hono";\nimport { shout } from "./text/shout";\nexport { GreetError } from "./text/errors";\nexport function greet(name: string) {\n  return shout(name) + String(Hono);\n}\n',
    "packages/shared/src/text/shout.ts":
      'import type { Loud } from "../types";\nexport const shout = (s: string): Loud => s.toUpperCase();\n',
    "packages/shared/src/text/errors.ts": "export class GreetError extends Error {}\n",
    "packages/shared/src/types.ts": "export type Loud = string;\n",
    "packages/shared/src/cron.ts":
      'import { Cron } from "croner";\nexport const nextRun = (p: string) => new Cron(p).nextRun();\n',
    "packages/shared/src/unused.ts": 'import { z } from "zod";\nexport const unusedSchema = z.string();\n',
    "apps/demo/package.json": JSON.stringify({
      name: "demo",
      scripts: { test: "vitest run", lint: "eslint ." },
      dependencies: { "@durable-patterns/shared": "workspace:*" },
      devDependencies: { wrangler: "catalog:" },
    }),
    "apps/demo/tsconfig.json":
      '{\n  // comments are allowed here\n  "extends": "../../tsconfig.base.json",\n  "include": ["src"],\n}\n',
    "apps/demo/wrangler.jsonc":
      '{\n  "$schema": "../../node_modules/wrangler/config-schema.json",\n  "name": "demo",\n  "main": "src/index.ts",\n}\n',
    "apps/demo/README.md":
      "# demo\n\nSee [the shared helpers](../../packages/shared/) and [greet](../../packages/shared/src/greet.ts), [cron](../../packages/shared/src/cron.ts), [the repo](../../README.md).\n\n```sh\npnpm --filter demo dev   # start\npnpm --filter demo test  # test\n```\n",
    "apps/demo/src/index.ts": appSource,
    "apps/demo/test/index.test.ts": 'import { greet } from "@durable-patterns/shared";\nexport const t = greet("x");\n',
    "apps/demo/.dev.vars": "SECRET=do-not-copy\n",
    "apps/demo/.dev.vars.example": "SECRET=\n",
    "apps/demo/node_modules/junk.js": "",
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(ws, path)), { recursive: true });
    writeFileSync(join(ws, path), content);
  }
  return ws;
}

describe("refusing what it cannot do", () => {
  it("refuses a target directory that is not empty, and writes nothing", () => {
    const target = freshDir();
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, "keep.txt"), "mine");
    const result = runCli("counter", target);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /is not empty/);
    assert.deepEqual(readdirSync(target), ["keep.txt"]);
  });

  it("refuses an unknown app and lists the apps it knows", () => {
    const result = runCli("no-such-app", freshDir());
    assert.equal(result.status, 1);
    assert.match(result.stderr, /unknown app "no-such-app"\. Known apps: .*counter/);
  });

  it("prints the usage when an argument is missing", () => {
    const result = runCli("counter");
    assert.equal(result.status, 1);
    assert.match(result.stderr, /Usage: pnpm starter <app> <dir>/);
  });

  it("prints the usage and the apps with --help", () => {
    const result = runCli("--help");
    assert.equal(result.status, 0);
    assert.match(result.stdout, /Usage: pnpm starter <app> <dir>/);
    assert.match(result.stdout, /Apps: .*counter/);
  });

  it("writes into a directory that exists but is empty, relative to where it was run", () => {
    mkdirSync(join(scratch, "empty-one"));
    const result = runCli("counter", "empty-one");
    assert.equal(result.status, 0, result.stderr);
    assert.ok(existsSync(join(scratch, "empty-one", "package.json")));
    assert.match(result.stdout, /npm install/);
  });
});

// Every app of the repository, exported once; the assertions below hold for each.
// Exported lazily, inside the first test that needs it, so one unfinished app fails only its own tests.
const exported = listApps(root).map((app) => {
  const target = freshDir(`my-${app}`);
  let done = false;
  return {
    app,
    get target() {
      if (!done) exportApp({ root, app, target });
      done = true;
      return target;
    },
  };
});

describe("every exported app stands alone", () => {
  const catalog = readCatalogs(readFileSync(join(root, "pnpm-workspace.yaml"), "utf8")).default;

  for (const project of exported) {
    const { app } = project;
    it(`${app}: package.json has only concrete versions, each equal to the catalog's`, () => {
      const manifest = readJson(join(project.target, "package.json"));
      const all = { ...manifest.dependencies, ...manifest.devDependencies };
      assert.ok(Object.keys(all).length > 0);
      for (const [name, version] of Object.entries(all)) {
        assert.doesNotMatch(version, /^(catalog|workspace):/, name);
        assert.equal(version, catalog[name], `${name} differs from the catalog`);
      }
      assert.equal(manifest.name, `my-${app}`);
      assert.equal(manifest.engines.node, ">=22.12");
      assert.deepEqual(
        Object.keys(readJson(join(root, "apps", app, "package.json")).scripts).filter((s) => !manifest.scripts[s]),
        [],
      );
    });

    it(`${app}: a package the app has as a devDependency stays one, though vendored test helpers import it`, () => {
      const manifest = readJson(join(project.target, "package.json"));
      const own = readJson(join(root, "apps", app, "package.json")).devDependencies ?? {};
      for (const name of Object.keys(own)) assert.equal(manifest.dependencies?.[name], undefined, name);
      assert.ok(manifest.devDependencies.vitest);
    });

    it(`${app}: no import of @durable-patterns/shared is left and every relative import resolves`, () => {
      const vendoredDirs = [join(project.target, "src", "shared"), join(project.target, "packages")];
      for (const file of filesUnder(project.target).filter((f) => /\.(ts|mjs|js)$/.test(f))) {
        // Vendored files are copies; their JSDoc examples may name the package they came from.
        const appFile = !vendoredDirs.some((dir) => file.startsWith(dir));
        for (const { specifier } of findSpecifiers(readFileSync(file, "utf8"))) {
          if (appFile)
            assert.doesNotMatch(
              specifier,
              /^@durable-patterns\//,
              `${relative(project.target, file)} imports ${specifier}`,
            );
          if (specifier.startsWith("."))
            assert.ok(resolveRelative(file, specifier), `${relative(project.target, file)}: ${specifier}`);
        }
      }
    });

    it(`${app}: every vendored shared file says where it came from`, () => {
      // An app that imports nothing from packages/shared gets no src/shared/ at all.
      const sharedDir = join(project.target, "src", "shared");
      const vendored = existsSync(sharedDir) ? filesUnder(sharedDir) : [];
      for (const file of vendored) {
        assert.match(
          readFileSync(file, "utf8"),
          /^\/\/ Vendored from durable-patterns packages\/shared\/src\/[\w/-]+\.(ts|mjs)/,
          file,
        );
      }
    });

    it(`${app}: check runs the vendored Durable Object config check, not a workspace command`, () => {
      const { scripts } = readJson(join(project.target, "package.json"));
      assert.match(scripts.check, /^node packages\/config-check\/bin\/durable-config-check\.js wrangler\.jsonc && /);
      assert.ok(existsSync(join(project.target, "packages/config-check/bin/durable-config-check.js")));
      assert.ok(existsSync(join(project.target, "packages/config-check/src/check.js")));
    });

    it(`${app}: configs point inside the project`, () => {
      const wrangler = parseJsonc(readFileSync(join(project.target, "wrangler.jsonc"), "utf8"));
      assert.equal(wrangler.$schema, "./node_modules/wrangler/config-schema.json");
      assert.equal(wrangler.name, `my-${app}`);
      const tsconfig = readJson(join(project.target, "tsconfig.json"));
      assert.equal(tsconfig.extends, undefined);
      assert.equal(tsconfig.compilerOptions.noUncheckedIndexedAccess, true);
      const readme = readFileSync(join(project.target, "README.md"), "utf8");
      assert.doesNotMatch(readme, /\]\(\.\.\//, "README links out of the project");
      assert.match(readme, new RegExp(`Exported from \`apps/${app}\` of durable-patterns`));
      // The header is wrapped without breaking a code span across lines (Markdown would render it differently).
      for (const line of readme.split("\n").filter((l) => l.startsWith("> "))) {
        assert.equal(line.split("`").length % 2, 1, line);
      }
      for (const file of ["eslint.config.js", ".prettierrc.json", ".gitignore", "pnpm-workspace.yaml"]) {
        assert.ok(existsSync(join(project.target, file)), file);
      }
    });

    it(`${app}: the root README sections it copies carry no dated results (they would be stale from the next run)`, () => {
      const readme = readFileSync(join(project.target, "README.md"), "utf8");
      assert.doesNotMatch(readme, /<!-- \/?dated -->|Latest full run \(|last soak/);
      if (readme.includes("(from durable-patterns)") && /## (Benchmarks|Reliability) \(from/.test(readme)) {
        assert.match(readme, /dated results that stand here in durable-patterns' README are not copied/);
      }
    });

    it(`${app}: its web page has the page kit as real files, and wrangler.jsonc no build step`, () => {
      const appWrangler = parseJsonc(readFileSync(join(root, "apps", app, "wrangler.jsonc"), "utf8"));
      const wrangler = parseJsonc(readFileSync(join(project.target, "wrangler.jsonc"), "utf8"));
      // The workspace's build step copies the kit from packages/shared: outside an exported project.
      assert.equal(wrangler.build, undefined);
      if (!appWrangler.build) return; // a page without the kit, or no page at all
      const kitDir = join(root, "packages", "shared", "public");
      for (const file of readdirSync(kitDir)) {
        const copy = readFileSync(join(project.target, "public", "kit", file), "utf8");
        assert.ok(copy.endsWith(readFileSync(join(kitDir, file), "utf8")), `public/kit/${file} is the kit's`);
        assert.match(copy, new RegExp(`Vendored from durable-patterns packages/shared/public/${file}`));
      }
      // Real files of the project, not a build output to ignore.
      assert.doesNotMatch(readFileSync(join(project.target, ".gitignore"), "utf8"), /kit/);
    });
  }
});

describe("vendoring only what the app uses", () => {
  it("copies the modules that provide the imported names and what they import, and leaves the rest out", () => {
    const ws = fixtureWorkspace(
      'import { greet, type GreetError } from "@durable-patterns/shared";\nexport default greet;\n',
    );
    const target = freshDir();
    const result = exportApp({ root: ws, app: "demo", target });
    const vendored = filesUnder(join(target, "src", "shared")).map((f) => relative(join(target, "src", "shared"), f));
    assert.deepEqual(vendored.sort(), ["greet.ts", "index.ts", "text/errors.ts", "text/shout.ts", "types.ts"]);
    assert.match(readFileSync(join(target, "src", "shared", "index.ts"), "utf8"), /^export \* from "\.\/greet";$/m);
    assert.doesNotMatch(readFileSync(join(target, "src", "shared", "index.ts"), "utf8"), /cron|unused/);
    assert.deepEqual(result.vendored[0].left.sort(), ["cron.ts", "unused.ts"]);
    // Only what the vendored modules import becomes a dependency: hono, not croner or zod.
    const manifest = readJson(join(target, "package.json"));
    assert.deepEqual(manifest.dependencies, { hono: "4.0.0" });
    assert.equal(manifest.devDependencies.wrangler, "4.0.0");
    assert.deepEqual(manifest.allowScripts, { workerd: true, esbuild: true });
    assert.match(readFileSync(join(target, "src", "index.ts"), "utf8"), /from "\.\/shared";/);
    assert.match(readFileSync(join(target, "test", "index.test.ts"), "utf8"), /from "\.\.\/src\/shared";/);
  });

  it("follows subpath imports and named catalogs", () => {
    const ws = fixtureWorkspace(
      'import { unusedSchema } from "@durable-patterns/shared/unused";\nexport default unusedSchema;\n',
    );
    const target = freshDir();
    exportApp({ root: ws, app: "demo", target });
    assert.match(readFileSync(join(target, "src", "index.ts"), "utf8"), /from "\.\/shared\/unused";/);
    assert.ok(existsSync(join(target, "src", "shared", "unused.ts")));
    assert.ok(!existsSync(join(target, "src", "shared", "cron.ts")));
    assert.equal(readJson(join(target, "package.json")).dependencies.zod, "3.25.0");
  });

  it("copies .dev.vars.example but never .dev.vars or node_modules", () => {
    const ws = fixtureWorkspace('import { greet } from "@durable-patterns/shared";\nexport default greet;\n');
    const target = freshDir();
    exportApp({ root: ws, app: "demo", target });
    assert.ok(existsSync(join(target, ".dev.vars.example")));
    assert.ok(!existsSync(join(target, ".dev.vars")));
    assert.ok(!existsSync(join(target, "node_modules")));
  });

  it("rewrites README links into the vendored copy and pnpm --filter commands into npm ones", () => {
    const ws = fixtureWorkspace('import { greet } from "@durable-patterns/shared";\nexport default greet;\n');
    const target = freshDir();
    const result = exportApp({ root: ws, app: "demo", target });
    const readme = readFileSync(join(target, "README.md"), "utf8");
    assert.match(readme, /\[the shared helpers\]\(src\/shared\/\)/);
    assert.match(readme, /\[greet\]\(src\/shared\/greet\.ts\)/);
    // cron.ts was not vendored and the root README has no such section: the words stay, the links go.
    assert.match(readme, /, cron, the repo\./);
    assert.deepEqual(result.unlinked, ["../../packages/shared/src/cron.ts", "../../README.md"]);
    // The comments stay aligned, with the gap the original left after its longest command.
    assert.ok(readme.includes("```sh\nnpm run dev  # start\nnpm test     # test\n```"), readme);
  });

  it("renames the Worker but not a binding of the same name, and keeps wrangler.jsonc's comments", () => {
    const ws = fixtureWorkspace('import { greet } from "@durable-patterns/shared";\nexport default greet;\n');
    const wrangler = [
      "{",
      '  "$schema": "../../node_modules/wrangler/config-schema.json",',
      "  // The Worker; the Durable Object binding below happens to have the same name.",
      '  "name": "demo",',
      '  "main": "src/index.ts",',
      '  "durable_objects": { "bindings": [{ "name": "demo", "class_name": "Demo" }] },',
      "}",
      "",
    ].join("\n");
    writeFileSync(join(ws, "apps", "demo", "wrangler.jsonc"), wrangler);
    const target = freshDir("renamed");
    const result = exportApp({ root: ws, app: "demo", target });
    assert.equal(result.workerName, "renamed");
    assert.equal(
      readFileSync(join(target, "wrangler.jsonc"), "utf8"),
      wrangler
        .replace("../../node_modules/wrangler/config-schema.json", "./node_modules/wrangler/config-schema.json")
        .replace('"name": "demo",', '"name": "renamed",'),
    );
  });
});

describe("the page kit", () => {
  const kitBuild = [
    "  // The web page.",
    '  "assets": { "directory": "./public" },',
    '  "build": {',
    "    // Copies the page kit into public/kit/.",
    '    "command": "node ../../packages/shared/scripts/copy-page-kit.mjs",',
    '    "watch_dir": "../../packages/shared/public",',
    "  },",
  ];
  const withKit = (ws, build = kitBuild) => {
    const wrangler = ["{", '  "name": "demo",', '  "main": "src/index.ts",', ...build, "}", ""].join("\n");
    writeFileSync(join(ws, "apps", "demo", "wrangler.jsonc"), wrangler);
    mkdirSync(join(ws, "packages", "shared", "public"), { recursive: true });
    writeFileSync(join(ws, "packages", "shared", "public", "kit.css"), ".status {\n  margin: 0;\n}\n");
    writeFileSync(join(ws, "packages", "shared", "public", "kit.js"), "export const kit = 1;\n");
    mkdirSync(join(ws, "apps", "demo", "public", "kit"), { recursive: true });
    writeFileSync(join(ws, "apps", "demo", "public", "index.html"), '<link rel="stylesheet" href="/kit/kit.css" />\n');
    // A stale local copy from the app's last build: never exported.
    writeFileSync(join(ws, "apps", "demo", "public", "kit", "old.js"), "stale\n");
    return ws;
  };

  it("copies the kit into public/kit/ as files that say where they came from, and drops the build step", () => {
    const ws = withKit(fixtureWorkspace('import { greet } from "@durable-patterns/shared";\nexport default greet;\n'));
    const target = freshDir();
    const result = exportApp({ root: ws, app: "demo", target });
    assert.deepEqual(readdirSync(join(target, "public", "kit")).sort(), ["kit.css", "kit.js"]);
    const css = readFileSync(join(target, "public", "kit", "kit.css"), "utf8");
    assert.match(css, /^\/\*\n \* Vendored from durable-patterns packages\/shared\/public\/kit\.css/);
    assert.ok(css.endsWith(".status {\n  margin: 0;\n}\n"));
    const js = readFileSync(join(target, "public", "kit", "kit.js"), "utf8");
    assert.match(js, /^\/\/ Vendored from durable-patterns packages\/shared\/public\/kit\.js/);
    assert.ok(js.endsWith("export const kit = 1;\n"));
    // The build block and the comment inside it go; the rest of wrangler.jsonc stays as it was.
    assert.equal(
      readFileSync(join(target, "wrangler.jsonc"), "utf8"),
      [
        "{",
        '  "name": "project",',
        '  "main": "src/index.ts",',
        "  // The web page.",
        '  "assets": { "directory": "./public" },',
        "}",
        "",
      ].join("\n"),
    );
    assert.ok(result.vendored.some((v) => v.dir === "public/kit"));
    assert.match(readFileSync(join(target, "README.md"), "utf8"), /\[public\/kit\/\]\(public\/kit\/\)/);
  });

  it("refuses an app whose build step is not the kit's copy, rather than export a project that cannot build", () => {
    const ws = withKit(fixtureWorkspace("export default 1;\n"), ['  "build": { "command": "make assets" },']);
    const target = freshDir();
    assert.throws(() => exportApp({ root: ws, app: "demo", target }), /has a build step \(make assets\)/);
  });
});

describe("reading the workspace's files", () => {
  it("reads the default and named catalogs of pnpm-workspace.yaml", () => {
    const catalogs = readCatalogs(
      "catalog:\n  \"@a/b\": 1.0.0 # pinned\n  c: '2.0.0'\ncatalogs:\n  old:\n    c: 1.0.0\nother:\n  c: 9\n",
    );
    assert.deepEqual(catalogs, { default: { "@a/b": "1.0.0", c: "2.0.0" }, old: { c: "1.0.0" } });
  });

  it("reads catalogs and allowBuilds written as YAML flow maps", () => {
    const yaml =
      'catalog: { hono: "4.0.0", "@a/b": 1.0.0-beta.1 } # pinned\n' +
      "catalogs:\n  legacy: { zod: 3.25.0 }\n" +
      "allowBuilds: { esbuild: true, core-js-pure: false }\n";
    assert.deepEqual(readCatalogs(yaml), {
      default: { hono: "4.0.0", "@a/b": "1.0.0-beta.1" },
      legacy: { zod: "3.25.0" },
    });
    assert.deepEqual(allowedBuilds(yaml), ["esbuild"]);
  });

  it("refuses a catalog version that YAML reads as a number instead of guessing its text", () => {
    assert.throws(() => readCatalogs("catalog:\n  a: 1.10\n"), /catalog\.a is 1\.1, not a string; quote it/);
  });

  it("keeps a comma before a closing bracket inside a JSONC string, and names where a syntax error is", () => {
    const text = '{\n  "vars": { "LIST": "a, ]", "URL": "https://x//y" }, // note\n}\n';
    assert.deepEqual(parseJsonc(text).vars, { LIST: "a, ]", URL: "https://x//y" });
    assert.throws(
      () => parseJsonc('{\n  "a": 1\n  "b": 2\n}', "wrangler.jsonc"),
      /^SyntaxError: wrangler\.jsonc:3:3: /,
    );
  });

  it("names what an import clause takes, not its local aliases", () => {
    assert.deepEqual(importedNames("{ a, type B, c as d }"), ["a", "B", "c"]);
    assert.deepEqual(importedNames("* as shared"), ["*"]);
    assert.deepEqual(importedNames("def, { a }"), ["default", "a"]);
  });

  it("resolves a relative import with a bundler query (?raw) to the file it names", () => {
    const dir = mkdtempSync(join(tmpdir(), "starter-resolve-"));
    writeFileSync(join(dir, ".dev.vars.example"), "SECRET=\n");
    writeFileSync(join(dir, "index.ts"), "export {};\n");
    const from = join(dir, "test.ts");
    assert.equal(resolveRelative(from, "./.dev.vars.example?raw"), join(dir, ".dev.vars.example"));
    assert.equal(resolveRelative(from, "./index.ts?raw"), join(dir, "index.ts"));
    assert.equal(resolveRelative(from, "./missing?raw"), null);
    rmSync(dir, { recursive: true, force: true });
  });

  it("turns a directory name into a package and Worker name", () => {
    assert.equal(projectName("/tmp/My Product!"), "my-product");
    assert.equal(projectName("/tmp/___", "counter"), "counter");
  });
});

describe("templates/<app>: what C3 and the Deploy button use", () => {
  /** The fixture workspace with what a template carries: gallery metadata, generated types, a start section. */
  function templateWorkspace() {
    const ws = fixtureWorkspace('import { greet } from "@durable-patterns/shared";\nexport default greet;\n');
    const manifestPath = join(ws, "apps", "demo", "package.json");
    const cloudflare = {
      label: "Demo",
      products: ["Workers", "Durable Objects"],
      bindings: { SECRET: { description: "A secret." } },
    };
    writeFileSync(manifestPath, JSON.stringify({ ...readJson(manifestPath), description: "A demo.", cloudflare }));
    writeFileSync(join(ws, "apps", "demo", "worker-configuration.d.ts"), "interface Env {}\n");
    writeFileSync(
      join(ws, "apps", "demo", "README.md"),
      "# demo\n\nWhat it teaches.\n\n## Start your own\n\n`npm create cloudflare@latest`, or `pnpm starter demo ../x`.\n\n## API\n\nRoutes.\n",
    );
    return { ws, cloudflare };
  }

  it("carries the app's cloudflare block (label, products, secrets' descriptions) right after its description", () => {
    const { ws, cloudflare } = templateWorkspace();
    const target = freshDir("demo");
    exportApp({ root: ws, app: "demo", target, template: true });
    const manifest = readJson(join(target, "package.json"));
    assert.deepEqual(manifest.cloudflare, cloudflare);
    assert.deepEqual(Object.keys(manifest).slice(0, 6), [
      "name",
      "version",
      "private",
      "type",
      "description",
      "cloudflare",
    ]);
  });

  it("makes worker-configuration.d.ts at install (postinstall: wrangler types) instead of copying 600 KB of it", () => {
    const { ws } = templateWorkspace();
    const target = freshDir("demo");
    exportApp({ root: ws, app: "demo", target });
    assert.ok(!existsSync(join(target, "worker-configuration.d.ts")));
    assert.equal(readJson(join(target, "package.json")).scripts.postinstall, "wrangler types");
    assert.match(readFileSync(join(target, ".gitignore"), "utf8"), /^worker-configuration\.d\.ts$/m);
  });

  it("names no commit in a template, so it changes only when its app does", () => {
    const { ws } = templateWorkspace();
    const a = freshDir("demo");
    const b = freshDir("demo");
    exportApp({ root: ws, app: "demo", target: a, template: true });
    exportApp({ root: ws, app: "demo", target: b, template: true });
    for (const file of ["README.md", "src/shared/greet.ts", "package.json"]) {
      assert.equal(readFileSync(join(a, file), "utf8"), readFileSync(join(b, file), "utf8"), file);
      assert.doesNotMatch(readFileSync(join(a, file), "utf8"), /commit [0-9a-f]{7}/, file);
    }
  });

  it("drops the README's 'Start your own' section (the project is that start) and keeps the rest", () => {
    const { ws } = templateWorkspace();
    const target = freshDir("demo");
    exportApp({ root: ws, app: "demo", target, template: true });
    const readme = readFileSync(join(target, "README.md"), "utf8");
    assert.doesNotMatch(readme, /Start your own|pnpm starter demo \.\.\/x/);
    assert.match(readme, /What it teaches\.\n\n## API\n\nRoutes\.\n/);
  });

  it("every app's template in the repository is what the app exports now (pnpm templates --check)", () => {
    const result = spawnSync(process.execPath, [join(root, "scripts", "templates.mjs"), "--check"], {
      encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stderr);
    for (const app of listApps(root)) assert.match(result.stdout, new RegExp(`templates/${app}: up to date`));
  });
});

describe("the READMEs point at the templates", () => {
  const repository = readJson(join(root, "package.json"))
    .repository.url.replace(/^git\+https:\/\/github\.com\//, "")
    .replace(/\.git$/, "");
  const rootReadme = readFileSync(join(root, "README.md"), "utf8");

  for (const app of listApps(root)) {
    const command = `npm create cloudflare@latest my-${app} -- --template=${repository}/templates/${app}`;
    const deploy = `https://deploy.workers.cloudflare.com/?url=https://github.com/${repository}/tree/main/templates/${app}`;

    it(`${app}: its README and the root README give the C3 command and the Deploy button of templates/${app}`, () => {
      const readme = readFileSync(join(root, "apps", app, "README.md"), "utf8");
      const start = readme.slice(readme.indexOf("## Start your own"));
      assert.ok(readme.includes("## Start your own"), "a Start your own section");
      assert.ok(start.includes(command), command);
      assert.ok(start.includes(deploy), deploy);
      assert.ok(start.includes(`pnpm starter ${app} `));
      assert.ok(rootReadme.includes(command) && rootReadme.includes(deploy), "root README");
    });
  }
});
