// Setup for the browser tests: this app's HTTP API and page, on top of the shared browser helpers
// (Debian's Chromium through playwright-core, waiting for text, breaking the page's WebSocket).
import assert from "node:assert/strict";
import { baseUrl, expectText } from "../../src/shared/e2e.mjs";

/** Set by run.mjs, which starts `wrangler dev` on a free port. */
export const BASE_URL = baseUrl(8789);

// The app-independent helpers live in packages/shared; tests import them from here.
export { expectEventually, expectText, simulateOutages, uniqueName, useBrowser } from "../../src/shared/e2e.mjs";

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
