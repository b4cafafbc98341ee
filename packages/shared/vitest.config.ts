import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.jsonc" } })],
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    // Generous: on a busy 2-core machine a file's first test also pays for starting its workerd
    // worker, and the 10,000-task tests write 30,000 rows. No test asserts on time.
    testTimeout: 30_000,
  },
});
