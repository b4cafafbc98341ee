import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// This file runs in Node; the package's types are the Worker's, which have no `process`.
declare const process: { env: Record<string, string | undefined> };
const fcRuns = Number(process.env.FC_RUNS ?? 200);

export default defineConfig({
  // The tests' own Worker entry: the app built for the shipped workflows and the tests' (wrangler.jsonc's
  // `main`, src/index.ts, stays the deployed one).
  plugins: [cloudflareTest({ main: "./test/worker.ts", wrangler: { configPath: "./wrangler.jsonc" } })],
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    // Property-based reliability test: cases and seed (see test/reliability.test.ts).
    provide: {
      fcRuns,
      fcSeed: Number(process.env.FC_SEED ?? 20261123),
    },
    // A long property run takes minutes; ordinary runs keep a tight limit.
    testTimeout: fcRuns > 1000 ? 3_600_000 : 60_000,
  },
});
