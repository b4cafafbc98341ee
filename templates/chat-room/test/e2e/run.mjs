// Runs the browser tests: starts the app with `wrangler dev` on a free port with fresh storage,
// runs every test/e2e/*.test.mjs with Node's test runner against it, then stops the server it
// started, also when the tests fail or are interrupted.
//
//   pnpm test:e2e                 # from apps/chat-room
//   E2E_BASE_URL=http://127.0.0.1:8789 node --test test/e2e/*.test.mjs   # against a server you run yourself
import { runBrowserTests } from "../../src/shared/e2e.mjs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const testsDir = dirname(fileURLToPath(import.meta.url));
await runBrowserTests({
  appDir: join(testsDir, "..", ".."),
  testsDir,
  // Answers 2xx once the Worker and its Durable Object are up.
  readyPath: "/api/rooms/ready/count",
});
