import { defineConfig } from "vitest/config";

// Plain Node: the rules and RuleTester need no Workers runtime.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
  },
});
