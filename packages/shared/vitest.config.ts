import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// This file runs in Node; the package's types are the Worker's, which have no `process`.
declare const process: { env: Record<string, string | undefined> };
const fcRuns = Number(process.env.FC_RUNS ?? 100);

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.jsonc" } })],
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    // Property tests (alarm-queue-recovery, alarm-queue-interleavings): cases per property and
    // the seed, printed by each suite so a failure can be replayed with FC_SEED and FC_RUNS.
    provide: {
      fcRuns,
      fcSeed: Number(process.env.FC_SEED ?? 20261127),
    },
    // Generous: on a busy 2-core machine a file's first test also pays for starting its workerd
    // worker, and the 10,000-task tests write 30,000 rows. No test asserts on time. A soak run's
    // properties take minutes.
    testTimeout: fcRuns > 1000 ? 3_600_000 : 120_000,
  },
});
