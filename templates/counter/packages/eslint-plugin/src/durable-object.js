// Vendored from durable-patterns packages/eslint-plugin/src/durable-object.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
/**
 * Recognising a Durable Object class from syntax alone (no type information): the rules must run
 * in any project's plain `eslint .`, without a TypeScript program.
 */

/** @typedef {import("eslint").Rule.Node} Node */
/** @typedef {import("eslint").Rule.RuleContext} RuleContext */

/**
 * Local names under which `DurableObject` from "cloudflare:workers" is imported in this file
 * (`import { DurableObject as Base } from "cloudflare:workers"` makes `Base` count).
 *
 * @param {import("eslint").AST.Program} program
 * @returns {Set<string>}
 */
function durableObjectNames(program) {
  const names = new Set(["DurableObject"]);
  for (const statement of program.body) {
    if (statement.type !== "ImportDeclaration" || statement.source.value !== "cloudflare:workers") continue;
    for (const specifier of statement.specifiers) {
      if (
        specifier.type === "ImportSpecifier" &&
        specifier.imported.type === "Identifier" &&
        specifier.imported.name === "DurableObject"
      ) {
        names.add(specifier.local.name);
      }
    }
  }
  return names;
}

/**
 * The apps' own base class (packages/shared/src/sql-object.ts, vendored into a starter's
 * src/shared/): an object built on it need not declare a constructor, so its name counts wherever
 * it is imported from.
 */
const SHARED_BASE = "SqlDurableObject";

/** @type {WeakMap<object, Set<string>>} */
const namesByProgram = new WeakMap();

/**
 * Whether a class is a Durable Object: it extends `DurableObject` (or an alias imported from
 * "cloudflare:workers", or `something.DurableObject`) or the apps' `SqlDurableObject`, declares
 * `implements DurableObject`, or
 * has a constructor whose first parameter is typed `DurableObjectState` (the pre-RPC style).
 *
 * @param {any} node a ClassDeclaration or ClassExpression
 * @param {RuleContext} context
 * @returns {boolean}
 * @example
 *   isDurableObjectClass(classNode, context) // true for `class Room extends DurableObject<Env> {}`
 */
export function isDurableObjectClass(node, context) {
  const program = context.sourceCode.ast;
  let names = namesByProgram.get(program);
  if (!names) {
    names = durableObjectNames(program);
    namesByProgram.set(program, names);
  }
  const base = node.superClass;
  if (base?.type === "Identifier" && (names.has(base.name) || base.name === SHARED_BASE)) return true;
  if (base?.type === "MemberExpression" && !base.computed && base.property.name === "DurableObject") return true;
  for (const implemented of node.implements ?? []) {
    if (implemented.expression?.type === "Identifier" && implemented.expression.name === "DurableObject") return true;
  }
  const constructor = node.body.body.find(
    (/** @type {any} */ member) => member.type === "MethodDefinition" && member.kind === "constructor",
  );
  const first = constructor?.value.params[0];
  const param = first?.type === "TSParameterProperty" ? first.parameter : first;
  const typeName = param?.typeAnnotation?.typeAnnotation?.typeName;
  return typeName?.type === "Identifier" && typeName.name === "DurableObjectState";
}

/**
 * The innermost Durable Object class that contains `node`, if any.
 *
 * @param {Node} node
 * @param {RuleContext} context
 * @returns {any | undefined}
 */
export function enclosingDurableObject(node, context) {
  const ancestors = context.sourceCode.getAncestors(node);
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const ancestor = ancestors[i];
    if (
      (ancestor?.type === "ClassDeclaration" || ancestor?.type === "ClassExpression") &&
      isDurableObjectClass(ancestor, context)
    ) {
      return ancestor;
    }
  }
  return undefined;
}

/**
 * The URL of a rule's documentation: the Markdown file shipped inside this package, so the link
 * works wherever the plugin is installed or copied.
 *
 * @param {string} rule
 * @returns {string}
 */
export function docsUrl(rule) {
  return new URL(`../docs/rules/${rule}.md`, import.meta.url).href;
}
