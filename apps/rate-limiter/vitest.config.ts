import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.jsonc" },
      // The secret a deployment sets with `wrangler secret put`; tests use a fixed one.
      miniflare: { bindings: { RATE_LIMITER_TOKEN: "test-token" } },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    testTimeout: 60_000,
  },
});
