// Runs the browser tests: starts the app with `wrangler dev` on a free port with fresh storage,
// runs every test/e2e/*.test.mjs with Node's test runner against it, then stops the server it
// started (its whole process group, and nothing else), also when the tests fail or are interrupted.
//
//   pnpm test:e2e                 # from apps/chat-room
//   E2E_BASE_URL=http://127.0.0.1:8789 node --test test/e2e/*.test.mjs   # against a server you run yourself
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const appDir = join(here, "..", "..");
const STARTUP_TIMEOUT_MS = 60_000;

const port = await freePort();
const inspectorPort = await freePort(); // the default 9229 may be taken by another wrangler dev
const baseUrl = `http://127.0.0.1:${port}`;
const persistTo = mkdtempSync(join(tmpdir(), "chat-room-e2e-"));
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };

// `detached` makes wrangler the leader of a new process group, so stopping it also stops the
// workerd it spawns. The local bin is used directly: npx would add a layer and may prompt.
const server = spawn(
  join(appDir, "node_modules", ".bin", "wrangler"),
  [
    ...["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)],
    ...["--persist-to", persistTo, "--show-interactive-dev-session=false"],
  ],
  { cwd: appDir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
);
let serverLog = "";
server.stdout.on("data", (chunk) => (serverLog += chunk));
server.stderr.on("data", (chunk) => (serverLog += chunk));
const serverExited = new Promise((resolve) => server.once("exit", resolve));

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    process.kill(-server.pid, "SIGTERM");
  } catch {
    // already gone
  }
  const killed = await Promise.race([serverExited.then(() => true), sleep(5_000).then(() => false)]);
  if (!killed) {
    try {
      process.kill(-server.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(persistTo, { recursive: true, force: true });
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    await stop();
    process.exit(130);
  });
}

let exitCode = 1;
try {
  await waitUntilReady();
  const files = readdirSync(here)
    .filter((file) => file.endsWith(".test.mjs"))
    .map((file) => join(here, file));
  // TAP prints the standard `# tests / # pass / # fail` summary on any terminal or CI log.
  const tests = spawn(process.execPath, ["--test", "--test-reporter=tap", ...files], {
    cwd: appDir,
    env: { ...env, E2E_BASE_URL: baseUrl },
    stdio: "inherit",
  });
  exitCode = await new Promise((resolve) => tests.once("exit", (code) => resolve(code ?? 1)));
} catch (error) {
  console.error(`e2e: ${error.message}\n--- wrangler dev output ---\n${serverLog}`);
} finally {
  await stop();
}
process.exit(exitCode);

async function waitUntilReady() {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let exited = false;
  serverExited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      // Both halves must answer: the static page and the Worker with its Durable Object.
      const [page, api] = await Promise.all([fetch(baseUrl), fetch(`${baseUrl}/api/rooms/ready/count`)]);
      if (page.ok && api.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(exited ? "wrangler dev exited before it was ready" : "wrangler dev did not answer within 60 s");
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
