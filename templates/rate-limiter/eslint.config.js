// @ts-check
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";
// The Durable Object rules of @durable-patterns/eslint-plugin, vendored as plain source from durable-patterns.
import durable from "./packages/eslint-plugin/src/index.js";

export default tseslint.config(
  { ignores: ["**/node_modules/", "**/worker-configuration.d.ts", "**/test-results/", ".tools/", "**/.wrangler/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  durable.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["**/public/**/*.js"],
    languageOptions: { globals: globals.browser },
  },
  {
    files: [
      "scripts/**",
      "**/*.mjs",
      "**/test/e2e/**",
      "bench/**",
      "packages/eslint-plugin/**",
      "packages/config-check/**",
    ],
    languageOptions: { globals: globals.node },
  },
);
