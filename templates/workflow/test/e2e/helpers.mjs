// Setup for the browser tests: this app's HTTP API and page, on top of the shared browser helpers
// (Debian's Chromium through playwright-core, waiting for text, breaking the page's WebSocket).
import assert from "node:assert/strict";
import { baseUrl, expectEventually, expectText } from "../../src/shared/e2e.mjs";

/** Set by run.mjs, which starts `wrangler dev` on a free port. */
export const BASE_URL = baseUrl(8790);
/** The API token the server was started with (run.mjs); `pnpm dev`'s by default. */
export const TOKEN = process.env.E2E_WORKFLOW_TOKEN ?? "dev-token-change-me";

// The app-independent helpers live in packages/shared; tests import them from here.
export { expectText, simulateOutages, uniqueName, useBrowser } from "../../src/shared/e2e.mjs";

/** Calls the API with the token, e.g. `api("POST", "/instances", {...})`; answers `{ status, body }`. */
export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${TOKEN}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${BASE_URL}/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Starts an `order` (the sample that waits for an "approval" event) and answers its id. */
export async function startOrder(id) {
  const { status, body } = await api("POST", "/instances", {
    workflow: "order",
    id,
    params: { orderId: id, amount: 25 },
  });
  assert.equal(status, 201, JSON.stringify(body));
  return body.id;
}

/** Waits until `check()` answers something truthy, and answers it. */
export async function eventually(check, what, { timeout = 15_000 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the instance is in `status`. */
export function untilStatus(id, status) {
  return eventually(async () => (await api("GET", `/instances/${id}`)).body?.status === status, `${id} ${status}`);
}

/** Waits until the index lists every one of `ids` in `status` (the index follows a change within moments). */
export function untilListed(ids, status) {
  return eventually(
    async () => {
      const { body } = await api("GET", `/instances?status=${status}&limit=100`);
      const listed = new Set(body.instances.map((instance) => instance.id));
      return ids.every((id) => listed.has(id));
    },
    `${ids.join(", ")} listed as ${status}`,
  );
}

/** Opens the dashboard in a new tab of `context` and signs in with the token, as a person would. */
export async function signIn(context, path = "/") {
  const page = await context.newPage();
  await page.goto(`${BASE_URL}${path}`);
  await page.getByLabel("API token").fill(TOKEN);
  await page.getByRole("button", { name: "Open dashboard" }).click();
  await page.locator("#dashboard").waitFor({ state: "visible" });
  return page;
}

/** The row of instance `id` in the list. */
export function row(page, id) {
  return page.locator("#instances-body tr").filter({ has: page.getByRole("link", { name: id, exact: true }) });
}

/** Opens instance `id` from the list (its link) and waits until its steps are live. */
export async function openInstance(page, id) {
  await row(page, id).getByRole("link").click();
  await expectText(page.locator("#detail-heading"), `Instance ${id}`);
  await expectText(page.locator("#status"), "Live");
}

/** The steps shown, in order, as "name status". */
export function timeline(page) {
  return page
    .locator("#timeline > li")
    .evaluateAll((items) =>
      items.map((item) => `${item.querySelector(".step-name").textContent} ${item.dataset.status}`),
    );
}

/** Waits until the timeline shows exactly `expected` (see {@link timeline}). */
export function expectTimeline(page, expected, { timeout = 15_000 } = {}) {
  return expectEventually(() => timeline(page), expected, { timeout });
}
