// Shared setup for the browser tests: Debian's Chromium driven by playwright-core, the app's HTTP
// API, and waiting for text to appear (the page updates asynchronously, over a WebSocket).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { chromium } from "playwright-core";

/** Set by run.mjs, which starts `wrangler dev` on a free port. */
export const BASE_URL = process.env.E2E_BASE_URL ?? "http://127.0.0.1:8789";

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

/** A room name no other test uses, so tests never see each other's messages. */
export function uniqueRoom(label) {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** GETs a room's API route, e.g. `api("lobby/count")`, and returns the JSON body. */
export async function api(path) {
  const response = await fetch(`${BASE_URL}/api/rooms/${path}`);
  assert.ok(response.ok, `GET ${path} answered ${response.status}: ${await response.clone().text()}`);
  return response.json();
}

/**
 * Posts `count` messages "m1", "m2", ... to `room` over WebSockets from Node, opening a new
 * connection every 20 messages (each connection may send 20 per 10 s).
 */
export async function post(room, count) {
  const url = `${BASE_URL.replace(/^http/, "ws")}/api/rooms/${room}/websocket?name=Seeder`;
  for (let first = 1; first <= count; first += 20) {
    const last = Math.min(count, first + 19);
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.onerror = () => reject(new Error(`could not connect to ${url}`));
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "welcome") {
          for (let i = first; i <= last; i++) socket.send(JSON.stringify({ type: "message", text: `m${i}` }));
        } else if (message.type === "message" && message.text === `m${last}`) resolve();
      };
    });
    socket.close();
  }
}

/** Opens the page for `room` as `name` in a new tab of `context` and waits until it is live. */
export async function openRoom(context, room, name) {
  const page = await context.newPage();
  await page.goto(`${BASE_URL}/?room=${room}&name=${encodeURIComponent(name)}`);
  await expectText(page.locator("#status"), "Live");
  return page;
}

/** The texts of the messages shown, oldest first. */
export function shownMessages(page) {
  return page.locator("#messages .text").allTextContents();
}

/** Types a message in the composer and sends it with Enter. */
export async function send(page, text) {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByLabel("Message", { exact: true }).press("Enter");
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
 * `outage.blackhole()` does the same and also drops everything the page sends on them.
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
