// Vendored from durable-patterns packages/eslint-plugin/src/rules/no-memory-only-state.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
import { docsUrl, isDurableObjectClass } from "../durable-object.js";

/** A field whose name ends in `Cache` (or is `cache`) is a cache by its name. */
const CACHE_NAME = /(?:^c|C)ache$/;
/** A leading comment with `cache:` marks the field that follows it as a cache. */
const CACHE_COMMENT = /\bcache:/i;
/** Wrappers around an assignment target that do not change what is assigned (`this.x! = 1`). */
const TARGET_WRAPPERS = new Set(["TSNonNullExpression", "TSAsExpression", "TSSatisfiesExpression", "TSTypeAssertion"]);
/** How many methods a message names before it says "and N more". */
const LISTED = 3;

/**
 * @typedef {object} Unit the class member whose code a `this.x` belongs to
 * @property {"constructor" | "method"} kind field initializers count as "constructor"
 * @property {any} member the MethodDefinition or PropertyDefinition
 */

/**
 * @typedef {object} Access
 * @property {"write" | "clear" | "fill" | "read"} kind a write through `??=` is a "fill"; `= null`,
 *   `= undefined` and `delete` are a "clear"
 * @property {boolean} reads whether the access also reads the field (`x++`, `x += 1`, `x ??= y`)
 * @property {any} node
 * @property {any} member
 */

/**
 * @typedef {object} ClassState
 * @property {Map<string, any>} declarations field name → PropertyDefinition or parameter property
 * @property {Set<string>} methods names of the class's own methods and accessors
 * @property {Map<string, Access[]>} outside accesses from methods, getters, setters, arrow properties
 * @property {Map<string, any[]>} constructorWrites field name → assignment nodes in the constructor
 * @property {Set<string>} filled fields with a `??=` fill anywhere in the class
 */

/** @type {import("eslint").Rule.RuleModule} */
export default {
  meta: {
    type: "problem",
    docs: {
      description:
        "Disallow Durable Object fields assigned in one method and read in another: memory-only state is lost on eviction, crash or retry.",
      recommended: true,
      url: docsUrl("no-memory-only-state"),
    },
    schema: [
      {
        type: "object",
        properties: {
          allow: {
            type: "array",
            items: { type: "string" },
            uniqueItems: true,
            description: "Field names that are caches (rebuilt from storage) or deliberately memory-only.",
          },
        },
        additionalProperties: false,
      },
    ],
    defaultOptions: [{ allow: [] }],
    messages: {
      memoryOnly:
        "`{{field}}` is state kept only in memory: assigned in {{assigned}}, read in {{read}}. It is lost when the " +
        "object is evicted, crashes or is retried by the platform (alarm() is retried after a crash, by a fresh " +
        "instance that never saw the assignment), and a handler that set it and then failed leaves it stale. Keep " +
        "it in storage, or mark it as a cache if it can be rebuilt (a name ending in `Cache`, a `// cache: ...` " +
        "comment on its declaration, or the rule's `allow` option).",
    },
  },
  create(context) {
    const sourceCode = context.sourceCode;
    const allow = new Set(/** @type {{ allow?: string[] }} */ (context.options[0] ?? {}).allow ?? []);
    /** @type {Map<any, ClassState>} */
    const classes = new Map();

    /**
     * The class state of a class, created when first seen (only for Durable Object classes).
     *
     * @param {any} classNode
     * @returns {ClassState | undefined}
     */
    const stateOf = (classNode) => {
      let state = classes.get(classNode);
      if (state) return state;
      if (!isDurableObjectClass(classNode, context)) return undefined;
      state = {
        declarations: new Map(),
        methods: new Set(),
        outside: new Map(),
        constructorWrites: new Map(),
        filled: new Set(),
      };
      for (const member of classNode.body.body) {
        if (member.static) continue;
        const name = keyName(member.key, member.computed);
        if (member.type === "MethodDefinition" && member.kind === "constructor") {
          for (const param of member.value.params) {
            if (param.type !== "TSParameterProperty") continue;
            const inner = param.parameter.type === "AssignmentPattern" ? param.parameter.left : param.parameter;
            if (inner.type === "Identifier") state.declarations.set(inner.name, param);
          }
        } else if (member.type === "MethodDefinition" || member.type === "TSAbstractMethodDefinition") {
          if (name !== undefined) state.methods.add(name);
        } else if (member.type === "PropertyDefinition" || member.type === "TSAbstractPropertyDefinition") {
          if (name !== undefined) state.declarations.set(name, member);
        }
      }
      classes.set(classNode, state);
      return state;
    };

    return {
      MemberExpression(node) {
        if (node.object.type !== "ThisExpression") return;
        const field = memberName(node);
        if (field === undefined) return;
        const unit = unitOf(node, sourceCode);
        if (!unit) return;
        const state = stateOf(unit.member.parent.parent);
        if (!state) return;
        const access = accessOf(node);
        if (access.kind === "fill") state.filled.add(field);
        if (unit.kind === "constructor") {
          if (access.kind !== "read") push(state.constructorWrites, field, node);
          return;
        }
        push(state.outside, field, { ...access, node, member: unit.member });
      },
      "Program:exit"() {
        for (const state of classes.values()) {
          for (const [field, accesses] of state.outside) {
            if (state.methods.has(field) && !state.declarations.has(field)) continue;
            if (allow.has(field) || CACHE_NAME.test(field)) continue;
            const declaration = state.declarations.get(field);
            if (isMarkedCache(declaration ?? statementOf(state.constructorWrites.get(field)?.[0]), sourceCode)) {
              continue;
            }
            // A lazy cache: filled with `??=`, and otherwise only ever cleared (to be filled again).
            const lazy = state.filled.has(field);
            const writes = accesses.filter((access) => access.kind === "write" || (access.kind === "clear" && !lazy));
            const firstWrite = writes[0];
            if (!firstWrite) continue;
            const writers = new Set(writes.map((access) => access.member));
            const reads = accesses.filter(
              (access) =>
                (access.kind === "read" || access.reads) && [...writers].some((writer) => writer !== access.member),
            );
            if (reads.length === 0) continue;
            context.report({
              node: declaration ? (declaration.key ?? declaration.parameter ?? declaration) : firstWrite.node,
              messageId: "memoryOnly",
              data: { field, assigned: describe(writes), read: describe(reads) },
            });
          }
        }
      },
    };
  },
};

/**
 * The class member whose code `node` (a `this.x`) runs in, when `this` there is the instance:
 * a method, accessor or constructor, or a property's initializer (an arrow function in it is a
 * method of its own; the initializer itself runs at construction). Undefined for static members
 * and for `this` rebound by a nested `function`.
 *
 * @param {any} node
 * @param {import("eslint").SourceCode} sourceCode
 * @returns {Unit | undefined}
 */
function unitOf(node, sourceCode) {
  const ancestors = sourceCode.getAncestors(node);
  let child = node;
  let inArrow = false;
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const ancestor = /** @type {any} */ (ancestors[i]);
    if (ancestor.type === "ArrowFunctionExpression") {
      inArrow = true;
    } else if (ancestor.type === "FunctionExpression" || ancestor.type === "FunctionDeclaration") {
      const parent = /** @type {any} */ (ancestors[i - 1]);
      const isMember =
        (parent?.type === "MethodDefinition" || parent?.type === "PropertyDefinition") && parent.value === ancestor;
      if (!isMember || parent.static) return undefined;
      return { kind: parent.kind === "constructor" ? "constructor" : "method", member: parent };
    } else if (ancestor.type === "PropertyDefinition") {
      if (ancestor.static || ancestor.value !== child) return undefined;
      return { kind: inArrow ? "method" : "constructor", member: ancestor };
    } else if (ancestor.type === "StaticBlock" || ancestor.type === "ClassBody") {
      return undefined;
    }
    child = ancestor;
  }
  return undefined;
}

/**
 * How `node` (a `this.x`) uses the field.
 *
 * @param {any} node
 * @returns {{ kind: Access["kind"], reads: boolean }}
 */
function accessOf(node) {
  let target = node;
  while (TARGET_WRAPPERS.has(target.parent?.type) && target.parent.expression === target) target = target.parent;
  const parent = target.parent;
  if (parent?.type === "AssignmentExpression" && parent.left === target) {
    if (parent.operator === "=") return { kind: isEmpty(parent.right) ? "clear" : "write", reads: false };
    if (parent.operator === "??=") return { kind: "fill", reads: true };
    return { kind: "write", reads: true };
  }
  if (parent?.type === "UpdateExpression") return { kind: "write", reads: true };
  if (parent?.type === "UnaryExpression" && parent.operator === "delete") return { kind: "clear", reads: false };
  if (isPatternTarget(target)) return { kind: "write", reads: false };
  return { kind: "read", reads: true };
}

/**
 * Whether `node` is assigned by destructuring (`[this.a, this.b] = pair`, `({ x: this.x } = o)`)
 * or is a for-of / for-in target.
 *
 * @param {any} node
 */
function isPatternTarget(node) {
  let current = node;
  for (;;) {
    const parent = current.parent;
    if (!parent) return false;
    if (
      parent.type === "ArrayPattern" ||
      parent.type === "RestElement" ||
      (parent.type === "AssignmentPattern" && parent.left === current) ||
      (parent.type === "Property" && parent.value === current && parent.parent?.type === "ObjectPattern")
    ) {
      current = parent.type === "Property" ? parent.parent : parent;
      continue;
    }
    if (parent.type === "ObjectPattern") {
      current = parent;
      continue;
    }
    if (parent.type === "AssignmentExpression") return parent.left === current && current !== node;
    if (parent.type === "ForOfStatement" || parent.type === "ForInStatement") return parent.left === current;
    return false;
  }
}

/**
 * `null`, `undefined` or `void 0`: assigning it clears a field.
 *
 * @param {any} node
 */
function isEmpty(node) {
  return (
    (node.type === "Literal" && node.value === null && !("regex" in node)) ||
    (node.type === "Identifier" && node.name === "undefined") ||
    (node.type === "UnaryExpression" && node.operator === "void")
  );
}

/**
 * Whether a declaration (or the statement that first assigns an undeclared field in the
 * constructor) has a leading comment containing `cache:`.
 *
 * @param {any} node
 * @param {import("eslint").SourceCode} sourceCode
 */
function isMarkedCache(node, sourceCode) {
  if (!node) return false;
  return sourceCode.getCommentsBefore(node).some((comment) => CACHE_COMMENT.test(comment.value));
}

/**
 * The statement an expression is part of.
 *
 * @param {any} node
 */
function statementOf(node) {
  let current = node;
  while (current && !current.type.endsWith("Statement")) current = current.parent;
  return current;
}

/**
 * The name of `this.x`, `this.#x` or `this["x"]`; undefined for other computed members.
 *
 * @param {any} node a MemberExpression on `this`
 * @returns {string | undefined}
 */
function memberName(node) {
  return keyName(node.property, node.computed);
}

/**
 * @param {any} key
 * @param {boolean} computed
 * @returns {string | undefined}
 */
function keyName(key, computed) {
  if (!computed && key?.type === "Identifier") return key.name;
  if (key?.type === "PrivateIdentifier") return `#${key.name}`;
  if (key?.type === "Literal" && (typeof key.value === "string" || typeof key.value === "number")) {
    return String(key.value);
  }
  return undefined;
}

/**
 * "purgeIfIdle() (line 327), leave() (line 355)": each member once, at its first access.
 *
 * @param {Access[]} accesses
 */
function describe(accesses) {
  /** @type {Map<any, number>} */
  const lines = new Map();
  for (const access of accesses) {
    if (!lines.has(access.member)) lines.set(access.member, access.node.loc.start.line);
  }
  const named = [...lines].map(([member, line]) => `${label(member)} (line ${line})`);
  const listed = named.slice(0, LISTED).join(", ");
  return named.length > LISTED ? `${listed} and ${named.length - LISTED} more` : listed;
}

/**
 * `alarm()`, `get queue`, `set limit`, `onPurge()` (an arrow-function property).
 *
 * @param {any} member
 */
function label(member) {
  const name = keyName(member.key, member.computed) ?? "[computed]";
  if (member.kind === "get" || member.kind === "set") return `${member.kind} ${name}`;
  return `${name}()`;
}

/**
 * @template T
 * @param {Map<string, T[]>} map
 * @param {string} key
 * @param {T} value
 */
function push(map, key, value) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
