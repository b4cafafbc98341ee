// The dashboard (public/), driven in a real Chromium against `wrangler dev` and the shipped
// workflows (src/workflows/): `order` waits for an "approval" event, `daily-report` completes at once.
// Run with `pnpm test:e2e`; run.mjs starts the server with fresh storage and stops it afterwards.
// The tests share that server, so each works on instances it started itself (uniqueName).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, it } from "node:test";
import {
  BASE_URL,
  TOKEN,
  api,
  eventually,
  expectText,
  expectTimeline,
  openInstance,
  row,
  signIn,
  simulateOutages,
  startOrder,
  uniqueName,
  untilListed,
  untilStatus,
  useBrowser,
} from "./helpers.mjs";

const browser = useBrowser();
let context;
beforeEach(async () => (context = await browser.newContext()));

const WAITING_FOR_APPROVAL = ["reserve stock complete", "charge card complete", "wait for approval waiting"];

/** An order waiting for its approval, listed by the index. */
async function waitingOrder(label) {
  const id = await startOrder(uniqueName(label));
  await untilStatus(id, "waiting");
  await untilListed([id], "waiting");
  return id;
}

describe("signing in", () => {
  it("asks for the token once, then lists the instances, and never puts the token in the address", async () => {
    const id = await waitingOrder("listed");
    const page = await context.newPage();
    await page.goto(BASE_URL);

    // Asked first, with the focus already in the box.
    assert.equal(await page.locator("#dashboard").isVisible(), false);
    assert.equal(await page.evaluate(() => globalThis.document.activeElement?.id), "token");
    await page.getByLabel("API token").fill(TOKEN);
    await page.getByRole("button", { name: "Open dashboard" }).click();

    await expectText(row(page, id).locator(".badge"), "waiting");
    assert.equal(await row(page, id).locator("td").first().textContent(), "order");
    // Kept for this tab: a reload does not ask again.
    await page.reload();
    await expectText(row(page, id).locator(".badge"), "waiting");
    assert.equal(await page.locator("#sign-in").isVisible(), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("workflow-token")), TOKEN);
    assert.ok(!page.url().includes(TOKEN));
    // Another tab (another session) is asked again.
    const other = await browser.newContext();
    const second = await other.newPage();
    await second.goto(BASE_URL);
    await second.getByLabel("API token").waitFor({ state: "visible" });
    await other.close();
  });

  it("refuses a wrong token with a clear message and shows nothing", async () => {
    const page = await context.newPage();
    await page.goto(BASE_URL);
    await page.getByLabel("API token").fill("not-the-token");
    await page.getByLabel("API token").press("Enter");

    await expectText(page.locator("#token-error"), /refused the token \(401 Unauthorized\)/);
    assert.equal(await page.getByLabel("API token").getAttribute("aria-invalid"), "true");
    assert.equal(await page.locator("#dashboard").isVisible(), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("workflow-token")), null);
  });

  it("asks again when the kept token is refused (a rotated secret)", async () => {
    await context.addInitScript(() => sessionStorage.setItem("workflow-token", "an-old-token"));
    const page = await context.newPage();
    await page.goto(BASE_URL);

    await expectText(page.locator("#token-error"), /refused the token \(401/);
    assert.equal(await page.locator("#sign-in").isVisible(), true);
  });

  it("says so when the deployment has no token configured (503)", async () => {
    const page = await context.newPage();
    // The server here has a token: answer as a deployment without WORKFLOW_TOKEN does.
    await page.route("**/api/workflows", (route) =>
      route.fulfill({
        status: 503,
        contentType: "application/problem+json",
        body: JSON.stringify({
          type: "urn:durable-patterns:problem:not-configured",
          title: "Service Unavailable",
          status: 503,
          detail: "This deployment has no WORKFLOW_TOKEN configured.",
        }),
      }),
    );
    await page.goto(BASE_URL);
    await page.getByLabel("API token").fill(TOKEN);
    await page.getByRole("button", { name: "Open dashboard" }).click();

    await expectText(page.locator("#token-error"), /503 Service Unavailable: This deployment has no WORKFLOW_TOKEN/);
    assert.equal(await page.locator("#dashboard").isVisible(), false);
  });

  it("forgets the token on request", async () => {
    const page = await signIn(context);
    await page.getByRole("button", { name: "Forget token" }).click();

    await page.getByLabel("API token").waitFor({ state: "visible" });
    assert.equal(await page.evaluate(() => sessionStorage.getItem("workflow-token")), null);
  });
});

describe("listing", () => {
  it("filters by status and by workflow, and counts each status per workflow", async () => {
    const orders = [await waitingOrder("filter-a"), await waitingOrder("filter-b")];
    const report = (await api("POST", "/instances", { workflow: "daily-report", id: uniqueName("report") })).body.id;
    await untilStatus(report, "complete");
    await untilListed([report], "complete");
    const page = await signIn(context);

    await page.getByLabel("Status", { exact: true }).selectOption("waiting");
    // The filtered page replaces the unfiltered one (which shows the orders too): wait for the
    // complete report to leave it before reading the badges.
    await eventually(async () => (await row(page, report).count()) === 0, "the complete report to leave the list");
    for (const id of orders) await expectText(row(page, id).locator(".badge"), "waiting");
    const badges = await page.locator("#instances-body .badge").allTextContents();
    assert.ok(badges.length > 0 && badges.every((status) => status === "waiting"), badges.join());
    assert.equal(new URL(page.url()).searchParams.get("status"), "waiting");

    await page.getByLabel("Workflow", { exact: true }).selectOption("daily-report");
    await page.getByLabel("Status", { exact: true }).selectOption("complete");
    await expectText(row(page, report).locator(".badge"), "complete");
    assert.deepEqual(
      new Set(await page.locator("#instances-body td:nth-child(2)").allTextContents()),
      new Set(["daily-report"]),
    );

    // The counts are the index's; a count is a button that lists those instances.
    const { body } = await api("GET", "/workflows");
    const orderCounts = body.workflows.find((workflow) => workflow.name === "order").counts;
    const waiting = page.getByRole("button", { name: `${orderCounts.waiting} waiting order instances: list them` });
    await expectText(waiting, String(orderCounts.waiting));
    await waiting.click();
    assert.equal(await page.getByLabel("Workflow", { exact: true }).inputValue(), "order");
    assert.equal(await page.getByLabel("Status", { exact: true }).inputValue(), "waiting");
    for (const id of orders) await expectText(row(page, id).locator(".badge"), "waiting");
  });

  it("pages through the instances with the API's next cursor", async () => {
    const created = await api("POST", "/instances/batch", {
      instances: Array.from({ length: 12 }, () => ({ workflow: "daily-report", id: uniqueName("page") })),
    });
    const ids = created.body.results.map((result) => result.id);
    await untilListed(ids, "complete");
    // What the pages must be: the API's own, 10 at a time, newest first.
    const first = (await api("GET", "/instances?workflow=daily-report&limit=10")).body;
    const second = (await api("GET", `/instances?workflow=daily-report&limit=10&cursor=${first.next}`)).body;
    const shown = (page) => page.locator("#instances-body th a").allTextContents();
    const page = await signIn(context, "/?workflow=daily-report");
    await page.getByLabel("Per page").selectOption("10");

    await eventually(
      async () => JSON.stringify(await shown(page)) === JSON.stringify(first.instances.map((i) => i.id)),
      "page 1",
    );
    assert.equal(await page.getByRole("button", { name: "← Newer" }).isDisabled(), true);
    await expectText(page.locator("#page-label"), "Page 1");

    await page.getByRole("button", { name: "Older →" }).click();
    await expectText(page.locator("#page-label"), "Page 2");
    await eventually(
      async () => JSON.stringify(await shown(page)) === JSON.stringify(second.instances.map((i) => i.id)),
      "page 2",
    );
    assert.equal(await page.getByRole("button", { name: "Older →" }).isDisabled(), second.next === null);

    await page.getByRole("button", { name: "← Newer" }).click();
    await expectText(page.locator("#page-label"), "Page 1");
    await eventually(
      async () => JSON.stringify(await shown(page)) === JSON.stringify(first.instances.map((i) => i.id)),
      "page 1 again",
    );
  });

  it("says when no instance matches the filters", async () => {
    const page = await signIn(context, "/?workflow=daily-report&status=paused");

    await expectText(page.locator("#list-state"), "No paused daily-report instances.");
    assert.equal(await page.locator("#instances-body tr").count(), 0);
  });
});

describe("watching an instance", () => {
  it("shows the steps and follows them live when the page's button sends the event", async () => {
    const id = await waitingOrder("live");
    const page = await signIn(context);
    const frames = [];
    page.on("websocket", (socket) => socket.on("framereceived", ({ payload }) => frames.push(JSON.parse(payload))));
    await openInstance(page, id);
    await expectTimeline(page, WAITING_FOR_APPROVAL);
    await expectText(page.locator("#detail-status"), "waiting");
    await expectText(page.locator("#timeline li[data-status=waiting] .step-facts"), /waits for an event until/);
    const navigations = [];
    page.on("framenavigated", (frame) => navigations.push(frame.url()));

    await page.getByLabel("Event type").fill("approval");
    await page.getByLabel("Payload (JSON, optional)").fill('{"approved": true, "by": "ada"}');
    await page.getByRole("button", { name: "Send event" }).click();

    await expectTimeline(page, [...WAITING_FOR_APPROVAL.slice(0, 2), "wait for approval complete", "ship complete"]);
    await expectText(page.locator("#detail-status"), "complete");
    await expectText(page.locator("#action-result"), /Event "approval" sent/);
    await expectText(page.locator("#timeline li[data-key='ship#1'] .step-facts"), /^1 attempt · took \d+/);
    // The row in the list follows, and the page never reloaded.
    await expectText(row(page, id).locator(".badge"), "complete");
    assert.deepEqual(navigations, []);
    // It came over the instance's WebSocket: each step change, then the status.
    assert.ok(
      frames.some((frame) => frame.type === "step" && frame.step.key === "ship#1"),
      JSON.stringify(frames),
    );
    assert.ok(frames.some((frame) => frame.type === "status" && frame.status === "complete"));
    assert.equal((await api("GET", `/instances/${id}`)).body.status, "complete");
  });

  it("shows the undos and the error of a rejected order, and markup in the payload as text", async () => {
    const id = await waitingOrder("rejected");
    const page = await signIn(context, `/?instance=${id}`);
    const dialogs = [];
    page.on("dialog", (dialog) => dialogs.push(dialog.message()));
    await expectText(page.locator("#status"), "Live");
    const attack = "<img src=x onerror=alert(1)>";

    await page.getByLabel("Event type").fill("approval");
    await page.getByLabel("Payload (JSON, optional)").fill(JSON.stringify({ approved: false, by: attack }));
    await page.getByRole("button", { name: "Send event" }).click();

    await expectText(page.locator("#detail-status"), "errored");
    await expectTimeline(page, [
      ...WAITING_FOR_APPROVAL.slice(0, 2),
      "wait for approval complete",
      "undo charge card complete",
      "undo reserve stock complete",
    ]);
    await expectText(page.locator("#detail-error"), `NonRetryableError: order rejected by ${attack}`);
    // The wait's output (the event) is shown as JSON text too.
    await page.locator("#timeline li[data-key='wait for approval#1'] summary").click();
    await expectText(
      page.locator("#timeline li[data-key='wait for approval#1'] pre"),
      /<img src=x onerror=alert\(1\)>/,
    );
    assert.equal(await page.locator("#detail img, #instances img").count(), 0);
    assert.deepEqual(dialogs, []);
  });

  it("pauses, resumes, terminates and restarts with the buttons", async () => {
    const id = await waitingOrder("buttons");
    const page = await signIn(context);
    await openInstance(page, id);
    const button = (name) => page.getByRole("button", { name, exact: true });
    const enabled = async () => {
      const names = [];
      for (const name of ["Pause", "Resume", "Terminate", "Restart"])
        if (await button(name).isEnabled()) names.push(name);
      return names;
    };
    assert.deepEqual(await enabled(), ["Pause", "Terminate", "Restart"]);

    await button("Pause").click();
    await expectText(page.locator("#detail-status"), "paused");
    assert.deepEqual(await enabled(), ["Resume", "Terminate", "Restart"]);
    assert.equal((await api("GET", `/instances/${id}`)).body.status, "paused");

    await button("Resume").click();
    // Resumed to queued, then it runs again and waits for its approval.
    await expectText(page.locator("#detail-status"), "waiting");
    await expectTimeline(page, WAITING_FOR_APPROVAL);

    await button("Terminate").click();
    await expectText(page.locator("#detail-status"), "terminated");
    assert.deepEqual(await enabled(), ["Restart"]);
    assert.equal(await page.getByRole("button", { name: "Send event" }).isDisabled(), true);

    await button("Restart").click();
    await expectText(page.locator("#detail-status"), "waiting");
    await expectTimeline(page, WAITING_FOR_APPROVAL);
    assert.equal((await api("GET", `/instances/${id}`)).body.status, "waiting");
    await expectText(row(page, id).locator(".badge"), "waiting");
  });

  it("shows the server's refusal when the page acts on a state it has not heard about yet", async () => {
    const id = await waitingOrder("refused");
    await context.addInitScript(simulateOutages);
    const page = await signIn(context);
    await openInstance(page, id);
    // A half-open connection: the page misses that someone else paused the instance.
    await page.evaluate(() => globalThis.outage.silence());
    assert.equal((await api("POST", `/instances/${id}/pause`)).status, 200);

    await page.getByRole("button", { name: "Pause", exact: true }).click();

    await expectText(page.getByRole("alert"), `Cannot pause instance "${id}": it is paused.`);
  });

  it("reconnects after the connection drops and shows the changes it missed", async () => {
    const id = await waitingOrder("outage");
    await context.addInitScript(simulateOutages);
    const page = await signIn(context);
    await openInstance(page, id);
    await expectTimeline(page, WAITING_FOR_APPROVAL);

    await page.evaluate(() => globalThis.outage.start());
    await expectText(page.locator("#status"), /^Reconnecting in \d+ s$/);
    // Approved while the page has no connection: only the resync can show it.
    await api("POST", `/instances/${id}/events/approval`, { payload: { approved: true } });
    await untilStatus(id, "complete");
    assert.equal(await page.locator("#detail-status").textContent(), "waiting");
    await page.evaluate(() => globalThis.outage.end());

    await expectText(page.locator("#status"), "Live", { timeout: 30_000 });
    await expectText(page.locator("#detail-status"), "complete");
    await expectTimeline(page, [...WAITING_FOR_APPROVAL.slice(0, 2), "wait for approval complete", "ship complete"]);
  });

  it("replaces a connection that stops answering its heartbeat pings", async () => {
    const id = await waitingOrder("heartbeat");
    await context.addInitScript(simulateOutages);
    // A fake clock, so the page's 25 s heartbeat can be run through in no time.
    await context.clock.install();
    const page = await signIn(context);
    await openInstance(page, id);

    await page.evaluate(() => globalThis.outage.silence());
    await api("POST", `/instances/${id}/events/approval`, { payload: { approved: true } });
    await untilStatus(id, "complete");
    // The silenced socket swallowed the changes: the page still believes it is live and waiting.
    await expectText(page.locator("#status"), "Live");
    assert.equal(await page.locator("#detail-status").textContent(), "waiting");
    // Heartbeat ping at 25 s, no pong by 30 s, first retry at most 0.5 s later.
    await page.clock.runFor(31_000);

    await expectText(page.locator("#detail-status"), "complete");
    await expectText(page.locator("#status"), "Live");
  });

  it("opens an instance by its id, and refuses an invalid or unknown one with a message", async () => {
    const id = await waitingOrder("by-id");
    const page = await signIn(context);
    const attack = "<img src=x onerror=alert(1)>";

    await page.getByLabel("Instance id").fill(attack);
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await expectText(
      page.locator("#open-error"),
      `"${attack}" is not a valid instance id: 1–64 letters, digits, _ or -, not starting with -.`,
    );
    assert.equal(await page.locator("#detail img").count(), 0);

    await page.getByLabel("Instance id").fill("no-such-instance");
    await page.getByLabel("Instance id").press("Enter");
    await expectText(page.locator("#detail-state"), 'There is no instance "no-such-instance".');
    await expectText(page.locator("#status"), "Not watching");

    await page.getByLabel("Instance id").fill(id);
    await page.getByLabel("Instance id").press("Enter");
    await expectText(page.locator("#status"), "Live");
    await expectTimeline(page, WAITING_FOR_APPROVAL);
    assert.equal(new URL(page.url()).searchParams.get("instance"), id);
  });
});

describe("using it", () => {
  it("works with the keyboard alone", async () => {
    const id = await waitingOrder("keyboard");
    const page = await context.newPage();
    await page.goto(`${BASE_URL}/?status=waiting`);
    await page.keyboard.type(TOKEN); // the token box has the focus
    await page.keyboard.press("Enter");
    await page.locator("#dashboard").waitFor({ state: "visible" });

    /** Presses Tab until `matches(active element)`. */
    const tabTo = async (what, matches) => {
      for (let presses = 0; presses < 60; presses++) {
        await page.keyboard.press("Tab");
        if (await page.evaluate(matches)) return;
      }
      assert.fail(`Tab never reached ${what}`);
    };
    await expectText(row(page, id).locator(".badge"), "waiting");
    await tabTo(`the link of ${id}`, `document.activeElement?.textContent === ${JSON.stringify(id)}`);
    await page.keyboard.press("Enter");
    await expectText(page.locator("#status"), "Live");
    assert.equal(await page.evaluate(() => globalThis.document.activeElement?.id), "detail-heading");

    await tabTo("Pause", () => globalThis.document.activeElement?.id === "pause");
    await page.keyboard.press("Space");
    await expectText(page.locator("#detail-status"), "paused");
    await tabTo("Resume", () => globalThis.document.activeElement?.id === "resume");
    await page.keyboard.press("Enter");
    await expectText(page.locator("#detail-status"), "waiting");
  });

  it("shows that it is offline, and refreshes when the connection returns", async () => {
    const id = await waitingOrder("offline");
    const page = await signIn(context);
    await expectText(row(page, id).locator(".badge"), "waiting");

    await context.setOffline(true);
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.locator("#offline").waitFor({ state: "visible" });
    await expectText(page.locator("#offline"), /^Offline: the server cannot be reached/);
    // What was shown stays.
    await expectText(row(page, id).locator(".badge"), "waiting");

    await api("POST", `/instances/${id}/pause`);
    await untilListed([id], "paused");
    await context.setOffline(false);
    await page.locator("#offline").waitFor({ state: "hidden" });
    await expectText(row(page, id).locator(".badge"), "paused");
  });

  it("runs without a single error in the browser console", async () => {
    const id = await waitingOrder("quiet");
    const errors = [];
    const page = await context.newPage();
    page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
    page.on("pageerror", (error) => errors.push(error.message));
    page.on(
      "response",
      (response) => response.status() >= 400 && errors.push(`${response.status()} ${response.url()}`),
    );
    await page.goto(BASE_URL);
    await page.getByLabel("API token").fill(TOKEN);
    await page.getByRole("button", { name: "Open dashboard" }).click();
    await openInstance(page, id);
    await page.getByLabel("Event type").fill("approval");
    await page.getByLabel("Payload (JSON, optional)").fill('{"approved": true}');
    await page.getByRole("button", { name: "Send event" }).click();
    await expectText(page.locator("#detail-status"), "complete");
    await page.getByRole("button", { name: "Refresh" }).click();
    await expectText(row(page, id).locator(".badge"), "complete");

    assert.deepEqual(errors, []);
  });
});

// SCREENSHOT=1 pnpm test:e2e retakes the README's picture; skipped otherwise.
describe("the README's screenshot", { skip: process.env.SCREENSHOT !== "1" && "set SCREENSHOT=1" }, () => {
  it("takes docs/dashboard.png", async () => {
    const approved = await waitingOrder("order");
    const rejected = await waitingOrder("order");
    await waitingOrder("order");
    await api("POST", `/instances/${approved}/events/approval`, { payload: { approved: true, by: "ada" } });
    await api("POST", `/instances/${rejected}/events/approval`, { payload: { approved: false, by: "grace" } });
    await untilListed([approved], "complete");
    await untilListed([rejected], "errored");
    const shot = await browser.newContext({ viewport: { width: 1280, height: 820 }, colorScheme: "light" });
    const page = await signIn(shot);
    await openInstance(page, rejected);
    await expectTimeline(page, [
      ...WAITING_FOR_APPROVAL.slice(0, 2),
      "wait for approval complete",
      "undo charge card complete",
      "undo reserve stock complete",
    ]);
    await page.locator("body").click({ position: { x: 5, y: 5 } }); // no focus ring in the picture
    const file = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "dashboard.png");
    mkdirSync(dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: false });
    await shot.close();
  });
});
