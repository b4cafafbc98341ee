// Works out which modules of a workspace package (packages/shared) an app really uses, so the
// standalone project carries only those, as plain source.
//
// The app's imports name what it uses: `import { Sql, migrate } from "@durable-patterns/shared"`.
// The package's index.ts re-exports its modules (`export * from "./sql"`), so each imported name is
// traced to the index entry that provides it; those entries are vendored together with everything
// they import relatively (`./migrations`, `./alarm-queue/errors`, ...), transitively. A namespace
// import (`import * as shared`) needs every entry. Subpath imports (`@durable-patterns/shared/sql`)
// are resolved through the package's `exports` map.
import { readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { findSpecifiers, importedNames, moduleExports, packageOf, resolveRelative } from "./sources.mjs";

/**
 * Plans the vendoring of one workspace package for the given app files.
 *
 * @param {object} options
 * @param {string} options.packageName  e.g. "@durable-patterns/shared"
 * @param {string} options.packageDir   absolute path of the package
 * @param {string[]} options.appFiles   absolute paths of the app's source files that may import it
 * @returns {{ files: string[], index: string | null, names: string[], entries: string[], bareImports: Set<string>, subpaths: Map<string, string> }}
 *   `files`: absolute paths of the package's files to copy; `index`: the new index.ts body (only
 *   the re-exports the app needs) or null when the app never imports the package root;
 *   `bareImports`: npm packages the vendored files import; `subpaths`: subpath specifier -> file.
 */
export function planVendoring({ packageName, packageDir, appFiles }) {
  const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
  const indexFile = resolveExport(manifest, packageDir, ".");
  const wanted = new Set(); // names the app imports from the package root
  const subpaths = new Map(); // "@pkg/sub" -> file
  let usesRoot = false;
  for (const file of appFiles) {
    for (const s of findSpecifiers(readFileSync(file, "utf8"))) {
      if (s.specifier === packageName) {
        usesRoot = true;
        for (const name of importedNames(s.clause)) wanted.add(name);
      } else if (s.specifier.startsWith(packageName + "/")) {
        const sub = "." + s.specifier.slice(packageName.length);
        const target = resolveExport(manifest, packageDir, sub);
        if (!target) throw new Error(`${s.specifier} (imported by ${file}) is not exported by ${packageName}`);
        subpaths.set(s.specifier, target);
      }
    }
  }

  // Which of the index's statements provide the wanted names.
  const entries = new Set();
  let index = null;
  if (usesRoot) {
    const indexSource = readFileSync(indexFile, "utf8");
    const statements = findSpecifiers(indexSource).filter((s) => s.kind === "export" && s.specifier.startsWith("."));
    const everything = wanted.has("*");
    const unresolved = new Set([...wanted].filter((n) => n !== "*"));
    const { names: ownNames } = moduleExports(indexSource.replace(/export[^;]*from\s*["'][^"']+["'];?/g, ""));
    if ([...ownNames].some((n) => everything || unresolved.has(n))) {
      throw new Error(`${indexFile} declares exports itself; the starter only vendors an index of re-exports`);
    }
    const kept = [];
    for (const statement of statements) {
      const target = resolveRelative(indexFile, statement.specifier);
      if (!target) throw new Error(`${indexFile}: cannot resolve ${statement.specifier}`);
      const provided =
        statement.clause === "*"
          ? exportedNamesOf(target)
          : new Set(moduleExports(`export ${statement.clause} from "x"`).names);
      const needed = everything || [...provided].some((name) => unresolved.has(name));
      if (!needed) continue;
      for (const name of provided) unresolved.delete(name);
      entries.add(target);
      kept.push(`export ${statement.typeOnly ? "type " : ""}${statement.clause} from "${statement.specifier}";`);
    }
    if (unresolved.size) {
      throw new Error(
        `could not find which module of ${packageName} exports ${[...unresolved].join(", ")} ` +
          `(the starter reads exports with regular expressions; see scripts/starter/sources.mjs)`,
      );
    }
    index = kept.join("\n") + "\n";
  }
  for (const target of subpaths.values()) entries.add(target);

  // Everything the entries import relatively, transitively.
  const files = new Set();
  const bareImports = new Set();
  const queue = [...entries];
  while (queue.length) {
    const file = queue.pop();
    if (files.has(file)) continue;
    if (!isInside(packageDir, file)) throw new Error(`${file} is outside ${packageDir}`);
    files.add(file);
    for (const s of findSpecifiers(readFileSync(file, "utf8"))) {
      if (s.specifier.startsWith(".")) {
        const target = resolveRelative(file, s.specifier);
        if (!target) throw new Error(`${file}: cannot resolve ${s.specifier}`);
        queue.push(target);
      } else {
        const pkg = packageOf(s.specifier);
        if (pkg && pkg !== packageName) bareImports.add(pkg);
      }
    }
  }
  return {
    files: [...files].sort(),
    index,
    names: [...wanted].sort(),
    entries: [...entries].sort(),
    bareImports,
    subpaths,
  };
}

/** All names a module makes available, following `export *` chains. */
function exportedNamesOf(file, seen = new Set()) {
  if (seen.has(file)) return new Set();
  seen.add(file);
  const { names, reexports } = moduleExports(readFileSync(file, "utf8"));
  const all = new Set(names);
  for (const r of reexports) {
    const target = resolveRelative(file, r.specifier);
    if (!target) continue; // a bare `export * from "pkg"`: its names are not ours to vendor
    for (const name of exportedNamesOf(target, seen)) if (name !== "default") all.add(name);
  }
  return all;
}

/** The file a package `exports` key maps to: "." or "./sub", with one `*` wildcard supported. */
function resolveExport(manifest, packageDir, subpath) {
  const exportsField = manifest.exports ?? (subpath === "." ? manifest.main : undefined);
  const map = typeof exportsField === "string" ? { ".": exportsField } : (exportsField ?? {});
  const pick = (value) => (typeof value === "string" ? value : (value?.import ?? value?.default ?? null));
  if (map[subpath]) return join(packageDir, pick(map[subpath]));
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf("*");
    if (star === -1) continue;
    const [head, tail] = [key.slice(0, star), key.slice(star + 1)];
    if (subpath.startsWith(head) && subpath.endsWith(tail) && subpath.length >= key.length - 1) {
      const middle = subpath.slice(head.length, subpath.length - tail.length);
      return join(packageDir, pick(value).replace("*", middle));
    }
  }
  return subpath === "." ? resolveRelative(join(packageDir, "package.json"), "./index") : null;
}

function isInside(dir, file) {
  const rel = relative(dir, file);
  return rel && !rel.startsWith("..") && !rel.startsWith(sep);
}
