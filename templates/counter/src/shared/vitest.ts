// Vendored from durable-patterns packages/shared/src/vitest.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * The one vitest configuration of every app (and of this package): the tests run inside workerd
 * with the app's own wrangler.jsonc, property tests get their number of cases and seed from
 * `FC_RUNS` and `FC_SEED` (`inject("fcRuns")`, `inject("fcSeed")`), and a soak run (over 1,000
 * cases) lifts the time limit; the apps' structured info and warn log lines (src/log.ts, one per
 * request and per operation) are not echoed, since thousands of them would bury a failure's output
 * (error lines are; tests that assert lines capture them with `vi.spyOn(console, ...)`). Runs in
 * Node, from vitest.config.ts; no Worker imports it.
 *
 * @example
 * ```ts
 * // vitest.config.ts
 * import { workersTestConfig } from "@durable-patterns/shared/vitest";
 * export default workersTestConfig({ bindings: { API_TOKEN: "test-token" } });
 * ```
 */
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// The package's types are the Worker's, which have no `process`.
declare const process: { env: Record<string, string | undefined> };

export interface WorkersTestOptions {
  /** The Worker the tests run against, when not wrangler.jsonc's `main` (a test-only entry). */
  main?: string;
  /** Bindings only the tests set: the secrets a deployment sets with `wrangler secret put`. */
  bindings?: Record<string, string>;
  /** Property-test cases when `FC_RUNS` is not set. */
  fcRuns?: number;
  /** The seed when `FC_SEED` is not set. */
  fcSeed?: number;
  /** Milliseconds per test outside soak runs. */
  testTimeout?: number;
}

export function workersTestConfig(options: WorkersTestOptions = {}) {
  const fcRuns = Number(process.env.FC_RUNS ?? options.fcRuns ?? 200);
  return defineConfig({
    plugins: [
      cloudflareTest({
        ...(options.main ? { main: options.main } : {}),
        wrangler: { configPath: "./wrangler.jsonc" },
        ...(options.bindings ? { miniflare: { bindings: options.bindings } } : {}),
      }),
    ],
    test: {
      include: ["test/**/*.test.ts"],
      reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
      onConsoleLog: (log: string) => !/^\{"level":"(info|warn)"/.test(log),
      provide: { fcRuns, fcSeed: Number(process.env.FC_SEED ?? options.fcSeed ?? 20261123) },
      // A soak run's properties take minutes; ordinary runs keep a tight limit.
      testTimeout: fcRuns > 1000 ? 3_600_000 : (options.testTimeout ?? 60_000),
    },
  });
}
