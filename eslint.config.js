// @ts-check
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/node_modules/", "**/worker-configuration.d.ts", "**/test-results/", ".tools/", "**/.wrangler/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Floating promises in a Durable Object are work the runtime may cancel: await or waitUntil them.
      "no-restricted-syntax": [
        "error",
        {
          selector:
            "ClassDeclaration[superClass.name='DurableObject'] CallExpression[callee.name=/^(setTimeout|setInterval)$/]",
          message:
            "Timers in a Durable Object do not survive eviction and keep it awake. Schedule work through the shared alarm queue.",
        },
        {
          selector:
            "ClassDeclaration[superClass.name='DurableObject'] CallExpression[callee.property.name='accept'][arguments.length=0]",
          message: "Use this.ctx.acceptWebSocket(ws) (hibernation API), never ws.accept(), in a Durable Object.",
        },
      ],
    },
  },
  {
    files: ["**/public/**/*.js"],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ["scripts/**", "**/*.mjs", "**/test/e2e/**", "bench/**"],
    languageOptions: { globals: globals.node },
  },
);
