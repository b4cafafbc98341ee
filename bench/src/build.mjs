/**
 * Turns each WorkerSpec into Miniflare worker options: bundles its TypeScript entry (with the
 * app's workspace imports) into one ES module with esbuild, and reads the app's own settings
 * from its wrangler.jsonc, so the bench runs each app as it deploys.
 */
import { readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import path from "node:path";
import { build } from "esbuild";
import { parse } from "jsonc-parser";
import { FIXTURES_COMPATIBILITY_DATE } from "./config.mjs";

/**
 * @param {import("./config.mjs").WorkerSpec} spec
 * @param {string} benchDir absolute path of bench/
 * @param {string} outDir where bundles go (a temporary directory)
 */
export async function workerOptions(spec, benchDir, outDir) {
  const scriptPath = path.join(outDir, `${spec.name}.mjs`);
  const settings = spec.wrangler ? await wranglerSettings(path.join(benchDir, spec.wrangler)) : fixtureSettings(spec);
  // With nodejs_compat, workerd provides Node's built-in modules, also by their bare names.
  const nodeBuiltins = settings.compatibilityFlags.includes("nodejs_compat") ? builtinModules : [];
  await build({
    entryPoints: [path.join(benchDir, spec.entry)],
    outfile: scriptPath,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2024",
    // The same resolution wrangler uses for Workers.
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*", ...nodeBuiltins],
    logLevel: "warning",
    plugins: spec.patches?.length ? [patchPlugin(spec.patches, benchDir)] : [],
  });

  return {
    name: spec.name,
    modules: true,
    scriptPath,
    // Module names are paths relative to this root; the bundle lives outside the working tree.
    modulesRoot: outDir,
    ...settings,
    // Secrets the app requires (a wrangler.jsonc names them but holds no values).
    // The apps run with LOG_LEVEL=warn (refusals and failures only), so each variant measures the
    // app's work; `counter-logged` runs the counter as deployed (every line) to price the logs.
    bindings: {
      ...settings.bindings,
      ...(spec.wrangler ? { LOG_LEVEL: spec.logLevel ?? "warn" } : {}),
      ...spec.vars,
      ...spec.secrets,
    },
    // Each Worker gets its own loopback socket straight into workerd: no routing Worker in front,
    // so every variant pays the same path.
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  };
}

/**
 * Replaces an exact piece of source text while bundling (a constant the bench must change, such
 * as a room's connection cap), and fails the build when the text is not there any more, so a
 * patch can never silently stop applying.
 *
 * @param {NonNullable<import("./config.mjs").WorkerSpec["patches"]>} patches
 * @param {string} benchDir
 * @returns {import("esbuild").Plugin}
 */
function patchPlugin(patches, benchDir) {
  const byFile = new Map(patches.map((patch) => [path.join(benchDir, patch.file), patch]));
  return {
    name: "bench-patches",
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        const patch = byFile.get(args.path);
        if (!patch) return undefined;
        const source = await readFile(args.path, "utf8");
        if (!source.includes(patch.replace))
          throw new Error(`bench patch: "${patch.replace}" not found in ${patch.file}`);
        return { contents: source.replace(patch.replace, patch.with), loader: "ts" };
      });
    },
  };
}

/** @param {import("./config.mjs").WorkerSpec} spec */
function fixtureSettings(spec) {
  const durableObjects = Object.fromEntries(
    Object.entries(spec.durableObjects ?? {}).map(([binding, className]) => [binding, { className, useSQLite: true }]),
  );
  return {
    compatibilityDate: FIXTURES_COMPATIBILITY_DATE,
    compatibilityFlags: spec.compatibilityFlags ?? [],
    bindings: {},
    durableObjects,
    ...(spec.workflows ? { workflows: spec.workflows } : {}),
  };
}

/** The settings of wrangler.jsonc that change how the Worker runs. */
async function wranglerSettings(file) {
  const config = parse(await readFile(file, "utf8"));
  const sqliteClasses = new Set((config.migrations ?? []).flatMap((migration) => migration.new_sqlite_classes ?? []));
  const durableObjects = Object.fromEntries(
    (config.durable_objects?.bindings ?? []).map((binding) => [
      binding.name,
      { className: binding.class_name, useSQLite: sqliteClasses.has(binding.class_name) },
    ]),
  );
  return {
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags ?? [],
    bindings: config.vars ?? {},
    durableObjects,
  };
}
