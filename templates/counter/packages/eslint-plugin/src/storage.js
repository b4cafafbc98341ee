// Vendored from durable-patterns packages/eslint-plugin/src/storage.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
/**
 * Recognising Durable Object storage calls from syntax: `this.ctx.storage.get("k")`,
 * `storage.put(...)`, `this.ctx.storage.sql.exec("UPDATE ...")`, and SQL helpers reached through
 * a member named `sql` (`this.sql.one("SELECT ...")`). Names are what the platform's docs and
 * examples use; an alias with another name is not seen (documented in each rule's limits).
 */

/**
 * The names along a member chain: `this.ctx.storage.get` gives ["this", "ctx", "storage", "get"].
 * Anything that is not a plain name (a call, a computed member) appears as "?".
 *
 * @param {any} node
 * @returns {string[]}
 */
export function memberChain(node) {
  /** @type {string[]} */
  const names = [];
  let current = node;
  while (current) {
    if (current.type === "ChainExpression" || current.type === "TSNonNullExpression") {
      current = current.expression;
    } else if (current.type === "MemberExpression") {
      names.unshift(current.computed ? (literalString(current.property) ?? "?") : current.property.name);
      current = current.object;
    } else if (current.type === "Identifier") {
      names.unshift(current.name);
      break;
    } else if (current.type === "ThisExpression") {
      names.unshift("this");
      break;
    } else {
      names.unshift("?");
      break;
    }
  }
  return names;
}

/**
 * @param {any} node
 * @returns {string | undefined}
 */
export function literalString(node) {
  if (node?.type === "Literal" && typeof node.value === "string") return node.value;
  if (node?.type === "TemplateLiteral" && node.expressions.length === 0) return node.quasis[0].value.cooked;
  return undefined;
}

/**
 * The text of a SQL argument; a template literal's interpolations become `?`.
 *
 * @param {any} node
 * @returns {string | undefined}
 */
export function sqlText(node) {
  if (node?.type === "TemplateLiteral") {
    return node.quasis.map((/** @type {any} */ quasi) => quasi.value.cooked ?? quasi.value.raw).join(" ? ");
  }
  return literalString(node);
}

/** Leading comments, whitespace and parentheses of a statement. */
const LEADING_NOISE = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/;

/**
 * Whether a SQL statement reads or writes. `WITH` queries count as writes when they contain one.
 *
 * @param {string} sql
 * @returns {"read" | "write" | "other"}
 */
export function sqlVerb(sql) {
  const body = sql.replace(LEADING_NOISE, "");
  const verb = /^\w+/.exec(body)?.[0].toUpperCase();
  if (verb === "SELECT" || verb === "PRAGMA") return "read";
  if (verb === "INSERT" || verb === "UPDATE" || verb === "DELETE" || verb === "REPLACE") return "write";
  if (verb === "WITH") return /\b(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(body) ? "write" : "read";
  return "other";
}

/**
 * The tables a statement reads from (`FROM t`, `JOIN t`) or writes to (`UPDATE t`, `INSERT INTO t`,
 * `DELETE FROM t`).
 *
 * @param {string} sql
 * @param {"read" | "write"} kind
 * @returns {Set<string>}
 */
export function sqlTables(sql, kind) {
  const pattern =
    kind === "read"
      ? /\b(?:FROM|JOIN)\s+["`[]?(\w+)/gi
      : /\b(?:UPDATE(?:\s+OR\s+\w+)?|INTO|DELETE\s+FROM)\s+["`[]?(\w+)/gi;
  return new Set([...sql.matchAll(pattern)].map((match) => (match[1] ?? "").toLowerCase()));
}

/**
 * @typedef {object} StorageCall
 * @property {"read" | "write" | "storage"} kind "storage" is any other storage operation
 *   (transactions, alarms, SQL we cannot read): it is not foreign I/O, and neither a read nor a write.
 * @property {Set<string>} keys KV keys (string literals) it reads or writes
 * @property {Set<string>} tables SQL tables it reads or writes
 * @property {string | undefined} sql the statement's text, for SQL calls
 */

const KV_READS = new Set(["get", "list"]);
const KV_WRITES = new Set(["put", "delete", "deleteAll"]);

/**
 * Classifies a call as a Durable Object storage operation, or undefined when it is not one.
 *
 * @param {any} call a CallExpression
 * @returns {StorageCall | undefined}
 * @example
 *   classifyStorageCall(parse('this.ctx.storage.get("count")')) // { kind: "read", keys: {"count"}, ... }
 */
export function classifyStorageCall(call) {
  if (call?.type !== "CallExpression") return undefined;
  const chain = memberChain(call.callee);
  if (chain.length < 2) return undefined;
  const method = chain[chain.length - 1] ?? "";
  const owner = chain[chain.length - 2];
  if (owner === "sql" || chain.includes("sql")) {
    const text = sqlText(call.arguments[0]);
    if (text === undefined) return { kind: "storage", keys: new Set(), tables: new Set(), sql: undefined };
    const verb = sqlVerb(text);
    if (verb === "other") return { kind: "storage", keys: new Set(), tables: new Set(), sql: text };
    return { kind: verb, keys: new Set(), tables: sqlTables(text, verb), sql: text };
  }
  if (owner === "storage" || owner === "txn" || owner === "transaction") {
    const kind = KV_READS.has(method) ? "read" : KV_WRITES.has(method) ? "write" : "storage";
    return { kind, keys: kvKeys(call.arguments[0]), tables: new Set(), sql: undefined };
  }
  if (chain.includes("storage")) return { kind: "storage", keys: new Set(), tables: new Set(), sql: undefined };
  return undefined;
}

/**
 * The literal keys of a KV call's first argument: "k", ["a", "b"], or { a: 1, b: 2 } (put(entries)).
 *
 * @param {any} arg
 * @returns {Set<string>}
 */
function kvKeys(arg) {
  const single = literalString(arg);
  if (single !== undefined) return new Set([single]);
  if (arg?.type === "ArrayExpression") {
    return new Set(arg.elements.map(literalString).filter((/** @type {unknown} */ key) => key !== undefined));
  }
  if (arg?.type === "ObjectExpression") {
    return new Set(
      arg.properties
        .map((/** @type {any} */ property) =>
          property.type === "Property" && !property.computed
            ? (property.key.name ?? literalString(property.key))
            : undefined,
        )
        .filter((/** @type {unknown} */ key) => key !== undefined),
    );
  }
  return new Set();
}

/**
 * Whether an expression is (a chain built on) a storage operation, e.g. the argument of
 * `await this.ctx.storage.get("k")` or `await storage.transaction(...)`.
 *
 * @param {any} node
 * @returns {boolean}
 */
export function isStorageExpression(node) {
  let current = node;
  while (current) {
    if (current.type === "CallExpression") {
      if (classifyStorageCall(current)) return true;
      current = current.callee;
    } else if (current.type === "MemberExpression") {
      current = current.object;
    } else if (
      current.type === "ChainExpression" ||
      current.type === "TSNonNullExpression" ||
      current.type === "TSAsExpression" ||
      current.type === "TSSatisfiesExpression"
    ) {
      current = current.expression;
    } else {
      return false;
    }
  }
  return false;
}
