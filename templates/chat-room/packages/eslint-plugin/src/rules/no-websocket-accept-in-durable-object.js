// Vendored from durable-patterns packages/eslint-plugin/src/rules/no-websocket-accept-in-durable-object.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
import { docsUrl, enclosingDurableObject } from "../durable-object.js";
import { literalString } from "../storage.js";

const SOCKET_EVENTS = new Set(["message", "close", "error", "open"]);
const SOCKET_HANDLERS = new Set(["onmessage", "onclose", "onerror", "onopen"]);

const WHY =
  "keeps the object in memory for as long as the socket is open (billed duration, no hibernation), and the " +
  "listener is lost when the object is evicted, so the socket goes deaf.";
const FIX =
  "Accept with this.ctx.acceptWebSocket(server, tags) and handle frames in the class's webSocketMessage / " +
  "webSocketClose / webSocketError methods: the runtime wakes the object for each frame.";

/** @type {import("eslint").Rule.RuleModule} */
export default {
  meta: {
    type: "problem",
    docs: {
      description: "Disallow ws.accept() and socket event listeners in a Durable Object: use the hibernation API.",
      recommended: true,
      url: docsUrl("no-websocket-accept-in-durable-object"),
    },
    schema: [],
    messages: {
      accept: `{{code}} in a Durable Object ${WHY} ${FIX}`,
      listener: `{{code}} on a socket in a Durable Object ${WHY} ${FIX}`,
    },
  },
  create(context) {
    const text = (/** @type {any} */ node) => context.sourceCode.getText(node);
    return {
      CallExpression(node) {
        const callee = node.callee;
        if (callee.type !== "MemberExpression" || callee.computed || callee.property.type !== "Identifier") return;
        const method = callee.property.name;
        if (method === "accept" && node.arguments.length === 0) {
          if (enclosingDurableObject(node, context)) {
            context.report({ node, messageId: "accept", data: { code: `${text(callee.object)}.accept()` } });
          }
        } else if (method === "addEventListener") {
          const event = literalString(node.arguments[0]);
          if (event !== undefined && SOCKET_EVENTS.has(event) && enclosingDurableObject(node, context)) {
            context.report({
              node,
              messageId: "listener",
              data: { code: `${text(callee.object)}.addEventListener("${event}")` },
            });
          }
        }
      },
      AssignmentExpression(node) {
        const left = node.left;
        if (left.type !== "MemberExpression" || left.computed || left.property.type !== "Identifier") return;
        if (SOCKET_HANDLERS.has(left.property.name) && enclosingDurableObject(node, context)) {
          context.report({ node, messageId: "listener", data: { code: `${text(left)} = ...` } });
        }
      },
    };
  },
};
