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
/** Answers 2xx once the Worker and its Durable Object are up. */
const READY_PATH = "/api/rooms/ready/count";
const STARTUP_TIMEOUT_MS = 60_000;
/** A free port can be taken by another process between the probe and wrangler's bind: try again. */
const START_ATTEMPTS = 3;

const persistTo = mkdtempSync(join(tmpdir(), "e2e-"));
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };

let server = null;
let stopping = false;

/** Stops the server that is running (its whole process group), waiting up to 5 s before SIGKILL. */
async function stopServer() {
  if (!server) return;
  const { child, exited } = server;
  server = null;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    // already gone
  }
  const killed = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
  if (!killed) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

async function stop() {
  if (stopping) return;
  stopping = true;
  await stopServer();
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
  const baseUrl = await startServer();
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
  console.error(`e2e: ${error.message}`);
} finally {
  await stop();
}
process.exit(exitCode);

/** Starts `wrangler dev` and returns its base URL once it answers; retries when its port was taken. */
async function startServer() {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const inspectorPort = await freePort(); // the default 9229 may be taken by another wrangler dev
    const baseUrl = `http://127.0.0.1:${port}`;
    // `detached` makes wrangler the leader of a new process group, so stopping it also stops the
    // workerd it spawns. The local bin is used directly: npx would add a layer and may prompt.
    const child = spawn(
      join(appDir, "node_modules", ".bin", "wrangler"),
      [
        ...["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)],
        ...["--persist-to", persistTo, "--show-interactive-dev-session=false"],
      ],
      { cwd: appDir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    let log = "";
    child.stdout.on("data", (chunk) => (log += chunk));
    child.stderr.on("data", (chunk) => (log += chunk));
    server = { child, exited: new Promise((resolve) => child.once("exit", resolve)) };
    const outcome = await waitUntilReady(baseUrl, server.exited);
    if (outcome === "ready") return baseUrl;
    await stopServer();
    if (outcome === "exited" && /address already in use/i.test(log) && attempt < START_ATTEMPTS) continue;
    const why = outcome === "exited" ? "exited before it was ready" : "did not answer within 60 s";
    throw new Error(`wrangler dev ${why}\n--- wrangler dev output ---\n${log}`);
  }
}

async function waitUntilReady(baseUrl, serverExited) {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let exited = false;
  serverExited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      // Both halves must answer: the static page and the Worker with its Durable Object.
      // Each probe gives up after 2 s: whatever holds the port may accept and never answer.
      const probe = (url) => fetch(url, { signal: AbortSignal.timeout(2_000) });
      const [page, api] = await Promise.all([probe(baseUrl), probe(`${baseUrl}${READY_PATH}`)]);
      if (page.ok && api.ok) return "ready";
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  return exited ? "exited" : "timeout";
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
