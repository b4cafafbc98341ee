// Vendored from durable-patterns packages/eslint-plugin/src/rules/light-constructor.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
import { docsUrl, isDurableObjectClass } from "../durable-object.js";
import { classifyStorageCall, memberChain } from "../storage.js";

/**
 * @typedef {object} Place where a node sits relative to a Durable Object constructor
 * @property {boolean} inConstructor
 * @property {boolean} inBlockConcurrencyWhile
 * @property {any[]} functions the functions between the constructor and the node, innermost last
 */

/** @type {import("eslint").Rule.RuleModule} */
export default {
  meta: {
    type: "problem",
    docs: {
      description:
        "Keep Durable Object constructors light: async work only inside blockConcurrencyWhile, no network, no full-table loads.",
      recommended: true,
      url: docsUrl("light-constructor"),
    },
    schema: [],
    messages: {
      unblocked:
        "{{what}} in a Durable Object constructor runs concurrently with the first requests: they see the object " +
        "half-initialised, and an error is lost instead of failing the object. Put async setup inside " +
        "this.ctx.blockConcurrencyWhile(async () => { ... }), or make it synchronous (ctx.storage.sql is).",
      network:
        "{{what}} in a Durable Object constructor: every cold start (and every wake from hibernation) waits for the " +
        "network before serving anything, and a failure or slow answer takes the object down. Fetch lazily on first " +
        "use, or keep the data in the object's own storage.",
      fullTable:
        "{{what}} in a Durable Object constructor loads the whole table on every cold start and every wake from " +
        "hibernation: the cost grows with the data (each row read is billed) and so does the start latency. Query " +
        "the rows a request needs when it needs them (WHERE / LIMIT), or keep a summary row.",
    },
  },
  create(context) {
    const sourceCode = context.sourceCode;

    /**
     * @param {any} node
     * @returns {Place}
     */
    const place = (node) => {
      const ancestors = sourceCode.getAncestors(node);
      let inBlockConcurrencyWhile = false;
      /** @type {any[]} */
      const functions = [];
      for (let i = ancestors.length - 1; i >= 0; i--) {
        const ancestor = /** @type {any} */ (ancestors[i]);
        if (ancestor.type === "MethodDefinition") {
          const inConstructor =
            ancestor.kind === "constructor" && isDurableObjectClass(ancestor.parent.parent, context);
          return { inConstructor, inBlockConcurrencyWhile, functions: functions.reverse() };
        }
        if (ancestor.type.includes("Function")) {
          functions.push(ancestor);
          const call = ancestor.parent;
          if (
            call?.type === "CallExpression" &&
            call.arguments.includes(ancestor) &&
            memberChain(call.callee).at(-1) === "blockConcurrencyWhile"
          ) {
            inBlockConcurrencyWhile = true;
          }
        }
        if (ancestor.type === "PropertyDefinition" || ancestor.type.startsWith("Class")) break;
      }
      return { inConstructor: false, inBlockConcurrencyWhile, functions };
    };

    /** @param {any} node */
    const isAsyncFunction = (node) => node && node.type.includes("Function") && node.async;

    return {
      CallExpression(node) {
        const callee = /** @type {any} */ (node.callee);
        const chain = memberChain(callee);
        const method = chain.at(-1);
        const isFetch =
          (callee.type === "Identifier" && callee.name === "fetch") || (chain.length > 1 && method === "fetch");
        const isThen = chain.length > 1 && method === "then";
        const isAsyncIife = isAsyncFunction(callee);
        const storage = classifyStorageCall(node);
        const isFullTable =
          (storage?.kind === "read" &&
            storage.sql !== undefined &&
            /\bFROM\b/i.test(storage.sql) &&
            !/\b(WHERE|LIMIT)\b/i.test(storage.sql)) ||
          (storage?.kind === "read" && method === "list" && !hasLimit(node.arguments[0]));
        if (!isFetch && !isThen && !isAsyncIife && !isFullTable) return;
        const where = place(node);
        if (!where.inConstructor) return;
        const what = sourceCode.getText(callee).replace(/\s+/g, " ").slice(0, 60);
        if (isFetch) context.report({ node, messageId: "network", data: { what: `${what}()` } });
        else if (isFullTable) context.report({ node, messageId: "fullTable", data: { what: `${what}(...)` } });
        else if (!where.inBlockConcurrencyWhile) {
          context.report({
            node,
            messageId: "unblocked",
            data: { what: isAsyncIife ? "An async function called right away" : `${what}()` },
          });
        }
      },
      AwaitExpression(node) {
        const where = place(node);
        if (!where.inConstructor || where.inBlockConcurrencyWhile) return;
        // An await inside an async IIFE is already reported with the IIFE.
        const innermost = where.functions.at(-1);
        if (innermost && innermost.parent?.type === "CallExpression" && innermost.parent.callee === innermost) return;
        context.report({ node, messageId: "unblocked", data: { what: "`await`" } });
      },
    };
  },
};

/**
 * Whether a storage.list() options argument bounds the result (`limit`).
 *
 * @param {any} options
 */
function hasLimit(options) {
  return (
    options?.type === "ObjectExpression" &&
    options.properties.some(
      (/** @type {any} */ property) =>
        property.type === "Property" && !property.computed && property.key.name === "limit",
    )
  );
}
