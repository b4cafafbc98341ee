// Runs test/caller-e2e/*.test.mjs against another Worker (test/caller/) that calls this app over
// its RPC entrypoint as the README shows: one `wrangler dev` with both Workers (the caller first),
// fresh storage, stopped afterwards, also when the tests fail or are interrupted.
//
//   pnpm test:e2e                 # from apps/workflow (after the dashboard's browser tests)
import { runBrowserTests } from "../../src/shared/e2e.mjs";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnv } from "node:util";

const testsDir = dirname(fileURLToPath(import.meta.url));
const appDir = join(testsDir, "..", "..");

// Both Workers require WORKFLOW_TOKEN (the caller for its HTTP client): from the environment,
// where it is set here to .dev.vars.example's unless given. Nothing is written to the app folder.
process.env.WORKFLOW_TOKEN ??= parseEnv(readFileSync(join(appDir, ".dev.vars.example"), "utf8")).WORKFLOW_TOKEN;

await runBrowserTests({
  appDir,
  testsDir,
  configs: ["test/caller/wrangler.jsonc", "wrangler.jsonc"],
  readyPath: "/ready",
});
