// Vendored from durable-patterns packages/shared/src/e2e.mjs by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// Browser tests against a real `wrangler dev`: the runner an app's test/e2e/run.mjs calls, and the
// helpers its *.test.mjs files share (Debian's Chromium through playwright-core, waiting for text,
// breaking the page's WebSocket on purpose). Plain JavaScript because Node runs it directly; tests
// only, no Worker imports it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { chromium } from "playwright-core";

const STARTUP_TIMEOUT_MS = 60_000;
/** A free port can be taken by another process between the probe and wrangler's bind: try again. */
const START_ATTEMPTS = 3;

/**
 * Starts the app with `wrangler dev` on a free port with fresh storage, runs every `*.test.mjs` in
 * `testsDir` with Node's test runner against it (`E2E_BASE_URL`), then stops the server it started
 * (its whole process group, and nothing else), also when the tests fail or are interrupted. Exits
 * the process with the tests' exit code.
 *
 * @param {object} options
 * @param {string} options.appDir    the app's folder (where wrangler.jsonc is)
 * @param {string} options.testsDir  the folder of the *.test.mjs files
 * @param {string} options.readyPath a path that answers 2xx once the Worker and its Durable Object are up
 * @param {string[]} [options.configs] wrangler configs (relative to appDir) for one dev session of
 *   several Workers, the first serving the tests (e.g. a caller bound to the app's RPC entrypoint);
 *   default: the app's own
 */
export async function runBrowserTests({ appDir, testsDir, readyPath, configs = [] }) {
  const persistTo = mkdtempSync(join(tmpdir(), "e2e-"));
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
  let server = null;
  let stopping = false;

  /** Stops the server that is running (its whole process group), waiting up to 5 s before SIGKILL. */
  async function stopServer() {
    if (!server) return;
    const { child, exited } = server;
    server = null;
    signalGroup(child.pid, "SIGTERM");
    const killed = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
    if (!killed) signalGroup(child.pid, "SIGKILL");
  }

  async function stop() {
    if (stopping) return;
    stopping = true;
    await stopServer();
    rmSync(persistTo, { recursive: true, force: true });
  }

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
          ...configs.flatMap((config) => ["-c", config]),
        ],
        { cwd: appDir, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
      );
      let log = "";
      child.stdout.on("data", (chunk) => (log += chunk));
      child.stderr.on("data", (chunk) => (log += chunk));
      server = { child, exited: new Promise((resolve) => child.once("exit", resolve)) };
      const outcome = await waitUntilReady(baseUrl, readyPath, server.exited);
      if (outcome === "ready") return baseUrl;
      await stopServer();
      if (outcome === "exited" && /address already in use/i.test(log) && attempt < START_ATTEMPTS) continue;
      const why = outcome === "exited" ? "exited before it was ready" : "did not answer within 60 s";
      throw new Error(`wrangler dev ${why}\n--- wrangler dev output ---\n${log}`);
    }
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
    const files = readdirSync(testsDir)
      .filter((file) => file.endsWith(".test.mjs"))
      .map((file) => join(testsDir, file));
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
}

/** The server the tests run against: the one run.mjs started, or `wrangler dev`'s on `defaultPort`. */
export function baseUrl(defaultPort) {
  return process.env.E2E_BASE_URL ?? `http://127.0.0.1:${defaultPort}`;
}

/** The system Chromium (CI installs it with apt); playwright-core never downloads a browser. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/**
 * One Chromium for the test file (launched before its tests, closed after them) whose browser
 * contexts (no cookies, no storage: a separate device each) are closed after the test that made
 * them. Call it at the top level of a test file.
 *
 * @example
 * const browser = useBrowser();
 * let context;
 * beforeEach(async () => (context = await browser.newContext()));
 */
export function useBrowser() {
  let browser;
  const contexts = [];
  before(async () => (browser = await launchBrowser()));
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });
  after(() => browser?.close());
  return {
    /** A new context (`browser.newContext(options)` of playwright), closed when the test ends. */
    async newContext(options) {
      const context = await browser.newContext(options);
      contexts.push(context);
      return context;
    },
  };
}

/** A name no other test uses (a counter, a room), so tests never see each other's changes. */
export function uniqueName(label) {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/**
 * Waits until the element's text equals `expected` (a string, or a RegExp it must match), then
 * passes; otherwise fails with the last text seen. It waits for an outcome, never for a duration.
 */
export async function expectText(locator, expected, { timeout = 10_000 } = {}) {
  const deadline = Date.now() + timeout;
  const matches = (text) => (expected instanceof RegExp ? expected.test(text) : text === expected);
  let actual;
  for (;;) {
    actual = ((await locator.textContent()) ?? "").trim();
    if (matches(actual) || Date.now() > deadline) break;
    await sleep(50);
  }
  if (expected instanceof RegExp) assert.match(actual, expected);
  else assert.equal(actual, expected);
}

/**
 * Waits until `read()` answers a value deep-equal to `expected` (a list of what a page shows,
 * say), then passes; otherwise fails with the last value read, like expectText.
 *
 * @example
 * await expectEventually(() => page.locator("li").allTextContents(), ["first", "second"]);
 */
export async function expectEventually(read, expected, { timeout = 10_000 } = {}) {
  const deadline = Date.now() + timeout;
  let actual;
  do {
    actual = await read();
    if (isDeepStrictEqual(actual, expected)) return;
    await sleep(50);
  } while (Date.now() < deadline);
  assert.deepEqual(actual, expected);
}

/**
 * Installed before the page's own script (`page.addInitScript(simulateOutages)`): lets a test break
 * the page's connection to the server. `outage.start()` closes open sockets and makes every new
 * connection attempt fail its handshake, as with an unreachable server, until `outage.end()`.
 * `outage.silence()` keeps open sockets open but drops everything they receive, like a half-open
 * connection the browser has not noticed; `outage.blackhole()` also drops everything the page sends.
 * It runs in the page, so it must not use anything from this module's scope.
 */
export function simulateOutages() {
  const Native = globalThis.WebSocket;
  const sockets = new Set();
  const silenced = new WeakSet();
  const blackholed = new WeakSet();
  let down = false;
  globalThis.WebSocket = class extends Native {
    constructor(url, protocols) {
      // A path the server answers with 404, so the handshake fails.
      super(down ? new URL("/no-websocket-during-outage", url) : url, protocols);
      sockets.add(this);
      this.addEventListener("close", () => sockets.delete(this));
      // Registered before the page's own handler, so it can stop a message from reaching it.
      this.addEventListener("message", (event) => silenced.has(this) && event.stopImmediatePropagation());
    }
    send(data) {
      if (!blackholed.has(this)) super.send(data);
    }
  };
  globalThis.outage = {
    start() {
      down = true;
      for (const socket of sockets) socket.close();
    },
    end() {
      down = false;
    },
    silence() {
      for (const socket of sockets) silenced.add(socket);
    },
    blackhole() {
      for (const socket of sockets) {
        silenced.add(socket);
        blackholed.add(socket);
      }
    },
  };
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
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

/** Waits until both the static page and `readyPath` answer 2xx; "exited" or "timeout" otherwise. */
async function waitUntilReady(baseUrl, readyPath, serverExited) {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let exited = false;
  serverExited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      // Each probe gives up after 2 s: whatever holds the port may accept and never answer.
      const probe = (url) => fetch(url, { signal: AbortSignal.timeout(2_000) });
      const [page, api] = await Promise.all([probe(baseUrl), probe(`${baseUrl}${readyPath}`)]);
      if (page.ok && api.ok) return "ready";
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  return exited ? "exited" : "timeout";
}
