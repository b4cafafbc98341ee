// Vendored from durable-patterns packages/eslint-plugin/src/index.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// @ts-check
/**
 * ESLint rules for the mistakes that break Cloudflare Durable Objects in production. They read
 * syntax only (no type information), so they run in any flat config, with typescript-eslint's
 * parser for TypeScript.
 *
 * @example
 *   // eslint.config.js
 *   import durable from "@durable-patterns/eslint-plugin";
 *   export default [...tseslint.configs.recommended, durable.configs.recommended];
 */
import lightConstructor from "./rules/light-constructor.js";
import noAwaitBetweenReadAndWrite from "./rules/no-await-between-read-and-write.js";
import noMemoryOnlyState from "./rules/no-memory-only-state.js";
import noTimersInDurableObject from "./rules/no-timers-in-durable-object.js";
import noWebsocketAcceptInDurableObject from "./rules/no-websocket-accept-in-durable-object.js";
import setAlarmOnlyInAlarmQueue from "./rules/set-alarm-only-in-alarm-queue.js";

export const rules = {
  "light-constructor": lightConstructor,
  "no-await-between-read-and-write": noAwaitBetweenReadAndWrite,
  "no-memory-only-state": noMemoryOnlyState,
  "no-timers-in-durable-object": noTimersInDurableObject,
  "no-websocket-accept-in-durable-object": noWebsocketAcceptInDurableObject,
  "set-alarm-only-in-alarm-queue": setAlarmOnlyInAlarmQueue,
};

const plugin = {
  meta: { name: "@durable-patterns/eslint-plugin", version: "0.0.0" },
  rules,
  /** @type {{ recommended: import("eslint").Linter.Config }} */
  configs: /** @type {any} */ ({}),
};

/**
 * Rules that are registered but not in `recommended`: none today; list a new rule here to land it first.
 * @type {Set<string>}
 */
const OPT_IN = new Set();

/** Every rule but the opt-in ones as an error, registered under the `durable` prefix. */
plugin.configs.recommended = {
  name: "@durable-patterns/recommended",
  plugins: { durable: plugin },
  rules: Object.fromEntries(
    Object.keys(rules)
      .filter((name) => !OPT_IN.has(name))
      .map((name) => [`durable/${name}`, /** @type {import("eslint").Linter.RuleSeverity} */ ("error")]),
  ),
};

export default plugin;
