// Runs the browser tests: starts the app with `wrangler dev` on a free port with fresh storage,
// runs every test/e2e/*.test.mjs with Node's test runner against it, then stops the server it
// started, also when the tests fail or are interrupted.
//
//   pnpm test:e2e                 # from apps/workflow
//   SCREENSHOT=1 pnpm test:e2e    # also retakes docs/dashboard.png
//   E2E_BASE_URL=http://127.0.0.1:8790 node --test test/e2e/*.test.mjs   # against `pnpm dev` (token from .dev.vars)
import { runBrowserTests } from "../../src/shared/e2e.mjs";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnv } from "node:util";

const testsDir = dirname(fileURLToPath(import.meta.url));
const appDir = join(testsDir, "..", "..");

// The API needs WORKFLOW_TOKEN. wrangler dev reads it from .dev.vars when there is one (yours is
// used as it is); otherwise, since wrangler.jsonc declares it a required secret, from the
// environment, where it is set here to .dev.vars.example's. Nothing is written to the app folder.
const readToken = (file) => parseEnv(readFileSync(join(appDir, file), "utf8")).WORKFLOW_TOKEN;
const token = existsSync(join(appDir, ".dev.vars"))
  ? readToken(".dev.vars")
  : (process.env.WORKFLOW_TOKEN ??= readToken(".dev.vars.example"));
if (!token) throw new Error("e2e: no WORKFLOW_TOKEN in .dev.vars: add one (see .dev.vars.example)");
// The tests send it as a user would type it into the page.
process.env.E2E_WORKFLOW_TOKEN = token;

await runBrowserTests({
  appDir,
  testsDir,
  // Open without a token; answers once the Worker is up (the page is checked too).
  readyPath: "/api/health",
});
