// Runs test/e2e/*.test.mjs against another Worker (test/caller/) calling the rate limiter over its
// service binding and through the middleware: one `wrangler dev` with both Workers, fresh storage,
// stopped afterwards, also when the tests fail or are interrupted.
//
//   pnpm test:e2e                 # from apps/rate-limiter
import { runBrowserTests } from "../../src/shared/e2e.mjs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const testsDir = dirname(fileURLToPath(import.meta.url));
await runBrowserTests({
  appDir: join(testsDir, "..", ".."),
  testsDir,
  configs: ["test/caller/wrangler.jsonc", "wrangler.jsonc"],
  // The caller answers 2xx once the rate limiter's RPC entrypoint answers it.
  readyPath: "/ready",
});
