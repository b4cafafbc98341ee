// Setup for the browser tests: this app's HTTP API and page, on top of the shared browser helpers
// (Debian's Chromium through playwright-core, waiting for text, breaking the page's WebSocket).
import assert from "node:assert/strict";
import { baseUrl, expectText } from "../../src/shared/e2e.mjs";

/** Set by run.mjs, which starts `wrangler dev` on a free port. */
export const BASE_URL = baseUrl(8787);

// The app-independent helpers live in packages/shared; tests import them from here.
export { expectText, simulateOutages, uniqueName, useBrowser } from "../../src/shared/e2e.mjs";

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
