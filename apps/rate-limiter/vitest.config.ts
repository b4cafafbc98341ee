import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// This file runs in Node; the package's types are the Worker's, which have no `process`.
declare const process: { env: Record<string, string | undefined> };
const fcRuns = Number(process.env.FC_RUNS ?? 200);

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
    // Property-based reliability tests: cases per property and the seed (see test/reliability.test.ts).
    provide: {
      fcRuns,
      fcSeed: Number(process.env.FC_SEED ?? 20261123),
    },
    // A soak run's properties take minutes; ordinary runs keep a tight limit.
    testTimeout: fcRuns > 1000 ? 3_600_000 : 60_000,
  },
});
