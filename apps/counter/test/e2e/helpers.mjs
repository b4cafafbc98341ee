// Shared setup for the browser tests: Debian's Chromium driven by playwright-core, the app's HTTP
// API, and waiting for text to appear (the page updates asynchronously, over a WebSocket).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { chromium } from "playwright-core";

/** Set by run.mjs, which starts `wrangler dev` on a free port. */
export const BASE_URL = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8787";

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

/** A counter name no other test uses, so tests never see each other's changes. */
export function uniqueName(label) {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** Calls the counter API, e.g. `api("PUT", "visits", { value: 41 })`, and returns the JSON body. */
export async function api(method, path, body) {
  const response = await fetch(`${BASE_URL}/api/counters/${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `${method} ${path} answered ${response.status}: ${await response.clone().text()}`);
  return response.json();
}

/** Opens the page for counter `name` in a new tab of `context` and waits until it is live. */
export async function openCounter(context, name) {
  const page = await context.newPage();
  await page.goto(`${BASE_URL}/?name=${name}`);
  await expectText(page.locator("#status"), "Live");
  return page;
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
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (expected instanceof RegExp) assert.match(actual, expected);
  else assert.equal(actual, expected);
}

/**
 * Installed before the page's own script: lets a test break the page's connection to the server.
 * `outage.start()` closes open sockets and makes every new connection attempt fail its handshake,
 * as with an unreachable server, until `outage.end()`. `outage.silence()` keeps open sockets open
 * but drops everything they receive, like a half-open connection the browser has not noticed.
 */
export function simulateOutages() {
  const Native = globalThis.WebSocket;
  const sockets = new Set();
  const silenced = new WeakSet();
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
  };
}
