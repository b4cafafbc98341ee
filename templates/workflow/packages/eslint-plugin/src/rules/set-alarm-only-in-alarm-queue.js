// Vendored from durable-patterns packages/eslint-plugin/src/rules/set-alarm-only-in-alarm-queue.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
import path from "node:path";
import { minimatch } from "minimatch";
import { docsUrl } from "../durable-object.js";

const DEFAULT_ALLOWED = ["**/alarm-queue*", "**/alarm-queue/**"];
const ALARM_METHODS = new Set(["setAlarm", "deleteAlarm"]);

/** @type {import("eslint").Rule.RuleModule} */
export default {
  meta: {
    type: "problem",
    docs: {
      description: "Allow storage.setAlarm/deleteAlarm only in the alarm queue, the one owner of an object's alarm.",
      recommended: true,
      url: docsUrl("set-alarm-only-in-alarm-queue"),
    },
    schema: [
      {
        type: "object",
        properties: {
          allowedFiles: {
            type: "array",
            items: { type: "string" },
            description: "Globs (relative to ESLint's cwd) of the files that may call setAlarm/deleteAlarm.",
          },
        },
        additionalProperties: false,
      },
    ],
    defaultOptions: [{ allowedFiles: DEFAULT_ALLOWED }],
    messages: {
      scattered:
        "{{method}}() outside the alarm queue: an object has exactly one alarm, so a second caller silently " +
        "replaces (or deletes) the time another feature set, and its work never runs. Schedule through the " +
        "alarm queue (queue.schedule / queue.cancel), which keeps every task in SQLite and arms the alarm for the " +
        "earliest one. Files allowed to call it: {{allowed}}.",
    },
  },
  create(context) {
    const allowed =
      /** @type {{ allowedFiles?: string[] }} */ (context.options[0] ?? {}).allowedFiles ?? DEFAULT_ALLOWED;
    const relative = path.relative(context.cwd, context.filename).split(path.sep).join("/");
    const absolute = context.filename.split(path.sep).join("/");
    const isAllowed = allowed.some(
      (glob) => minimatch(relative, glob, { dot: true }) || minimatch(absolute, glob, { dot: true }),
    );
    if (isAllowed) return {};
    return {
      CallExpression(node) {
        const callee = node.callee;
        if (callee.type !== "MemberExpression" || callee.computed || callee.property.type !== "Identifier") return;
        if (!ALARM_METHODS.has(callee.property.name)) return;
        context.report({
          node,
          messageId: "scattered",
          data: { method: callee.property.name, allowed: allowed.join(", ") },
        });
      },
    };
  },
};
