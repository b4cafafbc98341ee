// Vendored from durable-patterns packages/eslint-plugin/src/rules/no-timers-in-durable-object.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
import { docsUrl, enclosingDurableObject } from "../durable-object.js";

const TIMERS = new Set(["setTimeout", "setInterval"]);
const GLOBALS = new Set(["globalThis", "self", "global", "window"]);

/** @type {import("eslint").Rule.RuleModule} */
export default {
  meta: {
    type: "problem",
    docs: {
      description: "Disallow setTimeout/setInterval in a Durable Object: timed work goes through the alarm queue.",
      recommended: true,
      url: docsUrl("no-timers-in-durable-object"),
    },
    schema: [],
    messages: {
      timer:
        "{{name}} in a Durable Object: the timer dies when the object is evicted or restarted (the work silently " +
        "never happens), and a pending timer keeps the object awake, so it never hibernates and keeps billing. " +
        "Schedule the work through the alarm queue (it persists the task and sets the object's one alarm).",
    },
  },
  create(context) {
    return {
      CallExpression(node) {
        const callee = node.callee;
        let name;
        if (callee.type === "Identifier" && TIMERS.has(callee.name)) name = callee.name;
        else if (
          callee.type === "MemberExpression" &&
          !callee.computed &&
          callee.object.type === "Identifier" &&
          GLOBALS.has(callee.object.name) &&
          callee.property.type === "Identifier" &&
          TIMERS.has(callee.property.name)
        ) {
          name = `${callee.object.name}.${callee.property.name}`;
        }
        if (name && enclosingDurableObject(node, context)) context.report({ node, messageId: "timer", data: { name } });
      },
    };
  },
};
