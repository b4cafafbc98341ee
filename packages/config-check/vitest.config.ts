import { defineConfig } from "vitest/config";

// Plain Node: the checker reads files; it needs no Workers runtime.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
  },
});
