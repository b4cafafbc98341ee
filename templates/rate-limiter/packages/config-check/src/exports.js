// Vendored from durable-patterns packages/config-check/src/exports.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * @typedef {object} ModuleExports
 * @property {Set<string>} names every name the module exports ("default" for a default export)
 * @property {string[]} unresolved re-exports that could not be followed (packages, missing files):
 *   a name missing from `names` may still come from one of them
 */

const EXTENSIONS = [".ts", ".tsx", ".mts", ".js", ".mjs", ".jsx"];

/**
 * The file a relative import points to, trying the resolutions a bundler (wrangler's esbuild) tries.
 *
 * @param {string} from the importing file
 * @param {string} specifier
 * @returns {string | undefined}
 */
function resolveModule(from, specifier) {
  if (!specifier.startsWith(".")) return undefined;
  const base = path.resolve(path.dirname(from), specifier);
  const withoutJs = base.replace(/\.(m?)jsx?$/, "");
  const candidates = [
    base,
    ...EXTENSIONS.map((extension) => base + extension),
    ...EXTENSIONS.map((extension) => withoutJs + extension.replace("js", "ts")),
    ...EXTENSIONS.map((extension) => path.join(base, `index${extension}`)),
  ];
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

/**
 * The names a module exports, read from its syntax and following `export ... from` re-exports
 * into other local files, transitively (named re-exports and `export *` of a local module).
 *
 * @param {string} file
 * @param {Map<string, ModuleExports>} [seen] cycle guard and cache
 * @returns {ModuleExports}
 * @example
 *   moduleExports("src/index.ts").names.has("Counter"); // true for `export { Counter } from "./counter-object"`
 */
export function moduleExports(file, seen = new Map()) {
  const cached = seen.get(file);
  if (cached) return cached;
  /** @type {ModuleExports} */
  const result = { names: new Set(), unresolved: [] };
  seen.set(file, result);
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false);

  /** @param {string} specifier */
  const follow = (specifier) => {
    const target = resolveModule(file, specifier);
    if (!target) {
      result.unresolved.push(specifier);
      return undefined;
    }
    const inner = moduleExports(target, seen);
    result.unresolved.push(...inner.unresolved);
    return inner;
  };

  for (const statement of source.statements) {
    const modifiers = ts.canHaveModifiers(statement) ? (ts.getModifiers(statement) ?? []) : [];
    const exported = modifiers.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword);
    const isDefault = modifiers.some((modifier) => modifier.kind === ts.SyntaxKind.DefaultKeyword);
    if (exported) {
      if (isDefault) result.names.add("default");
      else if ((ts.isClassDeclaration(statement) || ts.isFunctionDeclaration(statement)) && statement.name) {
        result.names.add(statement.name.text);
      } else if (ts.isVariableStatement(statement)) {
        for (const declaration of statement.declarationList.declarations) {
          if (ts.isIdentifier(declaration.name)) result.names.add(declaration.name.text);
        }
      }
    } else if (ts.isExportAssignment(statement)) {
      result.names.add("default");
    } else if (ts.isExportDeclaration(statement) && !statement.isTypeOnly) {
      const specifier =
        statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
          ? statement.moduleSpecifier.text
          : undefined;
      const clause = statement.exportClause;
      if (!clause) {
        // `export *` of a module: everything but its default export
        const inner = specifier ? follow(specifier) : undefined;
        for (const name of inner?.names ?? []) if (name !== "default") result.names.add(name);
      } else if (ts.isNamespaceExport(clause)) {
        result.names.add(clause.name.text);
      } else {
        const inner = specifier ? follow(specifier) : undefined;
        for (const element of clause.elements) {
          if (element.isTypeOnly) continue;
          const original = (element.propertyName ?? element.name).text;
          // A name re-exported from a file that does not export it is not exported at all.
          if (!inner || inner.names.has(original)) result.names.add(element.name.text);
        }
      }
    }
  }
  return result;
}
