// The counter's web page (public/), driven in a real Chromium against `wrangler dev`.
// Run with `pnpm test:e2e`; run.mjs starts the server with fresh storage and stops it afterwards.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { BASE_URL, api, expectText, openCounter, simulateOutages, uniqueName, useBrowser } from "./helpers.mjs";

const browser = useBrowser();
let context;
beforeEach(async () => (context = await browser.newContext()));

describe("opening a counter", () => {
  it("shows the counter's current value when the page opens", async () => {
    const name = uniqueName("seeded");
    await api("PUT", name, { value: 41 });

    const page = await openCounter(context, name);

    await expectText(page.locator("#value"), "41");
    assert.equal(await page.getByLabel("Counter name").inputValue(), name);
  });

  it("opens the demo counter when the address names none, and puts a picked name in the address", async () => {
    const page = await context.newPage();
    await page.goto(BASE_URL);
    await expectText(page.locator("#status"), "Live");
    assert.equal(await page.getByLabel("Counter name").inputValue(), "demo");
    assert.equal(new URL(page.url()).searchParams.get("name"), "demo");

    const name = uniqueName("picked");
    await api("PUT", name, { value: 7 });
    await page.getByLabel("Counter name").fill(name);
    await page.getByRole("button", { name: "Open" }).click();

    await expectText(page.locator("#value"), "7");
    assert.equal(new URL(page.url()).searchParams.get("name"), name);
  });

  it("refuses an invalid name with a visible message and keeps the current counter", async () => {
    const name = uniqueName("kept");
    const page = await openCounter(context, name);

    await page.getByLabel("Counter name").fill("no spaces allowed!");
    await page.getByRole("button", { name: "Open" }).click();

    await expectText(page.locator("#name-error"), /is not a valid name/);
    assert.equal(await page.getByLabel("Counter name").getAttribute("aria-invalid"), "true");
    assert.equal(new URL(page.url()).searchParams.get("name"), name);
    await expectText(page.locator("#status"), "Live");
  });

  it("refuses an invalid name in the address without connecting", async () => {
    const page = await context.newPage();
    await page.goto(`${BASE_URL}/?name=${"x".repeat(65)}`);

    await expectText(page.locator("#name-error"), /is not a valid name/);
    await expectText(page.locator("#status"), "Pick a counter");
    assert.equal(await page.getByRole("button", { name: "Increase by 1" }).isDisabled(), true);
  });
});

describe("changing the value", () => {
  it("changes the value with the + and − buttons", async () => {
    const name = uniqueName("buttons");
    const page = await openCounter(context, name);
    const plus = page.getByRole("button", { name: "Increase by 1" });
    const minus = page.getByRole("button", { name: "Decrease by 1" });

    await plus.click();
    await expectText(page.locator("#value"), "1");
    await plus.click();
    await plus.click();
    await minus.click();

    await expectText(page.locator("#value"), "2");
    assert.deepEqual(await api("GET", name), { name, value: 2 });
  });

  it("resets the counter to 0 with the reset button", async () => {
    const name = uniqueName("reset");
    await api("PUT", name, { value: 12 });
    const page = await openCounter(context, name);
    await expectText(page.locator("#value"), "12");

    await page.getByRole("button", { name: "Reset to 0" }).click();

    await expectText(page.locator("#value"), "0");
    assert.deepEqual(await api("GET", name), { name, value: 0 });
  });

  it("works with the keyboard alone", async () => {
    const name = uniqueName("keyboard");
    const page = await context.newPage();
    await page.goto(`${BASE_URL}/?name=${uniqueName("first")}`);
    await page.getByLabel("Counter name").focus();
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.type(name);
    await page.keyboard.press("Enter");
    await expectText(page.locator("#status"), "Live");

    // From the name box: Open, then −, then +.
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Space");
    await page.keyboard.press("Enter");

    await expectText(page.locator("#value"), "2");
    assert.equal(new URL(page.url()).searchParams.get("name"), name);
  });

  it("shows the server's error when a change is refused", async () => {
    const name = uniqueName("limit");
    await api("PUT", name, { value: Number.MAX_SAFE_INTEGER });
    const page = await openCounter(context, name);

    await page.getByRole("button", { name: "Increase by 1" }).click();

    await expectText(page.getByRole("alert"), /beyond/);
    assert.deepEqual(await api("GET", name), { name, value: Number.MAX_SAFE_INTEGER });
  });
});

describe("staying live", () => {
  it("keeps two tabs in sync when one presses +", async () => {
    const name = uniqueName("tabs");
    const first = await openCounter(context, name);
    const second = await openCounter(context, name);

    await first.bringToFront(); // as a user would switch back to the first tab
    await first.getByRole("button", { name: "Increase by 1" }).click();

    await expectText(second.locator("#value"), "1");
    await expectText(first.locator("#value"), "1");
  });

  it("shows a change made through the HTTP API without a reload", async () => {
    const name = uniqueName("http");
    const page = await openCounter(context, name);

    await api("POST", `${name}/increment`, { by: 5 });

    await expectText(page.locator("#value"), "5");
  });

  it("reconnects after the connection drops and shows the value it missed", async () => {
    const name = uniqueName("outage");
    await context.addInitScript(simulateOutages);
    const page = await openCounter(context, name);
    await expectText(page.locator("#value"), "0");

    await page.evaluate(() => globalThis.outage.start());
    await expectText(page.locator("#status"), /^Reconnecting in \d+ s$/);
    // The change happens while the page has no connection, so only a resync can show it.
    await api("PUT", name, { value: 99 });
    assert.equal(await page.locator("#value").textContent(), "0");
    await page.evaluate(() => globalThis.outage.end());

    await expectText(page.locator("#status"), "Live");
    await expectText(page.locator("#value"), "99");
  });

  it("replaces a connection that stops answering its heartbeat pings", async () => {
    const name = uniqueName("heartbeat");
    await context.addInitScript(simulateOutages);
    // A fake clock, so the page's 25 s heartbeat can be run through in no time.
    await context.clock.install();
    const page = await openCounter(context, name);

    await page.evaluate(() => globalThis.outage.silence());
    await api("PUT", name, { value: 8 });
    // The silenced socket swallowed the update: the page still believes it is live at 0.
    await expectText(page.locator("#status"), "Live");
    assert.equal(await page.locator("#value").textContent(), "0");
    // Heartbeat ping at 25 s, no pong by 30 s, first retry at most 0.5 s later.
    await page.clock.runFor(31_000);

    await expectText(page.locator("#value"), "8");
    await expectText(page.locator("#status"), "Live");
  });
});
