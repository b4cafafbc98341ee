// Vendored from durable-patterns packages/eslint-plugin/src/rules/no-await-between-read-and-write.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
import { docsUrl } from "../durable-object.js";
import { classifyStorageCall, isStorageExpression, memberChain } from "../storage.js";

/**
 * @typedef {object} Read
 * @property {number} end where the read finishes (source offset)
 * @property {Set<string>} keys
 * @property {Set<string>} tables
 * @property {string} label what was read, for the message
 */

/**
 * @typedef {object} Scope one function body, analysed in source order
 * @property {boolean} exempt inside ctx.blockConcurrencyWhile, where no other event can interleave
 * @property {Read[]} reads
 * @property {{ at: number, label: string }[]} awaits awaits of anything but storage
 * @property {Map<string, Read>} tainted variables holding (something computed from) a read
 */

/** @type {import("eslint").Rule.RuleModule} */
export default {
  meta: {
    type: "problem",
    docs: {
      description:
        "Disallow writing back a storage read after awaiting other I/O: another request can change the value in between.",
      recommended: true,
      url: docsUrl("no-await-between-read-and-write"),
    },
    schema: [],
    messages: {
      window:
        "This write uses {{read}}, read before `await {{awaited}}`. While that await is pending the object serves " +
        "other requests (the input gate only holds during storage I/O), so another request can change the value " +
        "and this write overwrites its change. Do the read, the computation and the write with no other await in " +
        "between (one SQL statement such as UPDATE ... SET v = v + 1 RETURNING v is best), or re-read after the " +
        "await, or wrap the whole sequence in this.ctx.blockConcurrencyWhile.",
    },
  },
  create(context) {
    const sourceCode = context.sourceCode;
    /** @type {Scope[]} */
    const stack = [];
    const current = () => stack[stack.length - 1];

    /** @param {any} node */
    const label = (node) => {
      const shown = node.type === "CallExpression" ? node.callee : node;
      const text = sourceCode.getText(shown).replace(/\s+/g, " ") + (shown === node ? "" : "(...)");
      return text.length > 60 ? `${text.slice(0, 57)}...` : text;
    };

    /**
     * The reads and tainted variables an expression uses, without entering nested functions.
     *
     * @param {any} node
     * @param {Scope} scope
     * @returns {Read[]}
     */
    const sourcesIn = (node, scope) => {
      /** @type {Read[]} */
      const found = [];
      /** @param {any} n */
      const visit = (n) => {
        if (!n || typeof n.type !== "string") return;
        if (n.type.includes("Function")) return;
        if (n.type === "Identifier") {
          const read = scope.tainted.get(n.name);
          if (read) found.push(read);
          return;
        }
        if (n.type === "CallExpression") {
          const read = scope.reads.find((r) => r.end === n.range[1]);
          if (read) found.push(read);
        }
        for (const key of sourceCode.visitorKeys[n.type] ?? []) {
          const child = n[key];
          if (Array.isArray(child)) child.forEach(visit);
          else visit(child);
        }
      };
      visit(node);
      return found;
    };

    /**
     * @param {any} pattern
     * @param {Read} read
     * @param {Scope} scope
     */
    const taint = (pattern, read, scope) => {
      if (!pattern) return;
      if (pattern.type === "Identifier") scope.tainted.set(pattern.name, read);
      else if (pattern.type === "ObjectPattern") {
        for (const property of pattern.properties)
          taint(property.type === "RestElement" ? property.argument : property.value, read, scope);
      } else if (pattern.type === "ArrayPattern")
        pattern.elements.forEach((/** @type {any} */ e) => taint(e, read, scope));
      else if (pattern.type === "AssignmentPattern") taint(pattern.left, read, scope);
      else if (pattern.type === "RestElement") taint(pattern.argument, read, scope);
    };

    /** @param {any} node */
    const enterFunction = (node) => {
      const parent = node.parent;
      const exempt =
        parent?.type === "CallExpression" &&
        parent.arguments.includes(node) &&
        memberChain(parent.callee).at(-1) === "blockConcurrencyWhile";
      stack.push({ exempt, reads: [], awaits: [], tainted: new Map() });
    };

    return {
      ":function": enterFunction,
      ":function:exit"() {
        stack.pop();
      },
      AwaitExpression(node) {
        const scope = current();
        if (scope && !isStorageExpression(node.argument)) {
          scope.awaits.push({ at: node.range?.[0] ?? 0, label: label(node.argument) });
        }
      },
      ForOfStatement(node) {
        const scope = current();
        if (scope && node.await) scope.awaits.push({ at: node.range?.[0] ?? 0, label: label(node.right) });
      },
      "VariableDeclarator:exit"(node) {
        const scope = current();
        if (!scope || !node.init) return;
        const [first] = sourcesIn(node.init, scope).sort((a, b) => a.end - b.end);
        if (first) taint(node.id, first, scope);
      },
      "AssignmentExpression:exit"(node) {
        const scope = current();
        if (!scope) return;
        const [first] = sourcesIn(node.right, scope).sort((a, b) => a.end - b.end);
        if (first) taint(node.left, first, scope);
      },
      "CallExpression:exit"(node) {
        const scope = current();
        const call = classifyStorageCall(node);
        if (!scope || !call) return;
        const end = node.range?.[1] ?? 0;
        if (call.kind === "read") {
          const what = call.sql ? `the SELECT on ${[...call.tables].join(", ") || "a table"}` : undefined;
          const keys = [...call.keys].map((key) => `"${key}"`).join(", ");
          scope.reads.push({
            end,
            keys: call.keys,
            tables: call.tables,
            label: what ?? (keys ? `the value of ${keys}` : "a storage read"),
          });
          return;
        }
        if (call.kind !== "write" || scope.exempt) return;
        /** @type {Read[]} */
        const sources = [
          ...scope.reads.filter(
            (read) =>
              read.end < end &&
              ([...read.keys].some((key) => call.keys.has(key)) ||
                [...read.tables].some((table) => call.tables.has(table))),
          ),
          ...node.arguments.flatMap((/** @type {any} */ arg) => sourcesIn(arg, scope)),
        ];
        for (const read of sources.sort((a, b) => a.end - b.end)) {
          const between = scope.awaits.find((a) => a.at > read.end && a.at < end);
          if (between) {
            context.report({ node, messageId: "window", data: { read: read.label, awaited: between.label } });
            return;
          }
        }
      },
    };
  },
};
