// The chat page (public/), driven in a real Chromium against `wrangler dev`.
// Run with `pnpm test:e2e`; run.mjs starts the server with fresh storage and stops it afterwards.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  BASE_URL,
  api,
  expectEventually,
  expectText,
  openRoom,
  post,
  send,
  shownMessages,
  simulateOutages,
  uniqueName,
  useBrowser,
} from "./helpers.mjs";

const browser = useBrowser();
// Two people: separate browser contexts share nothing (no cookies, no storage), like two devices.
let ada;
let grace;
beforeEach(async () => {
  ada = await browser.newContext();
  grace = await browser.newContext();
});

/** Waits until the page shows exactly `expected` as its messages, oldest first. */
function expectMessages(page, expected) {
  return expectEventually(() => shownMessages(page), expected);
}

/** Ada, whose connection the test can break (`globalThis.outage`), and Grace, both live in a new room. */
async function openRoomWithBreakableAda(prefix) {
  const room = uniqueName(prefix);
  await ada.addInitScript(simulateOutages);
  const adaPage = await openRoom(ada, room, "Ada");
  const gracePage = await openRoom(grace, room, "Grace");
  return { room, adaPage, gracePage };
}

describe("chatting", () => {
  it("lets two people in two browsers talk to each other live", async () => {
    const room = uniqueName("talk");
    const adaPage = await openRoom(ada, room, "Ada");
    const gracePage = await openRoom(grace, room, "Grace");

    await expectText(adaPage.locator("#people-count"), "2");
    await expectText(adaPage.locator("#people"), /Grace/);
    await send(gracePage, "Hello Ada");
    await expectMessages(adaPage, ["Hello Ada"]);
    await send(adaPage, "Hi Grace!");
    await expectMessages(gracePage, ["Hello Ada", "Hi Grace!"]);
    await expectMessages(adaPage, ["Hello Ada", "Hi Grace!"]);

    assert.deepEqual(await api(`${room}/count`), { room, count: 2 });
    // The composer is cleared once a message is sent.
    assert.equal(await adaPage.getByLabel("Message", { exact: true }).inputValue(), "");
  });

  it("joins an open deployment without a single error in the browser console (no failed token probe)", async () => {
    const page = await ada.newPage();
    const errors = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("response", (response) => {
      if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(`${BASE_URL}/?room=${uniqueName("quiet")}&name=Ada`);
    await expectText(page.locator("#status"), "Live");
    assert.deepEqual(errors, []);
  });

  it("shows the history to someone who joins later, and who is here", async () => {
    const room = uniqueName("history");
    const adaPage = await openRoom(ada, room, "Ada");
    await send(adaPage, "first");
    await send(adaPage, "second");
    await expectMessages(adaPage, ["first", "second"]);

    const gracePage = await openRoom(grace, room, "Grace");
    await expectMessages(gracePage, ["first", "second"]);
    await expectText(gracePage.locator("#people"), "AdaGrace (you)");
  });

  it("removes someone from the list when they close the page", async () => {
    const room = uniqueName("leave");
    const adaPage = await openRoom(ada, room, "Ada");
    const gracePage = await openRoom(grace, room, "Grace");
    await expectText(adaPage.locator("#people-count"), "2");
    await gracePage.close();
    await expectText(adaPage.locator("#people-count"), "1");
    await expectText(adaPage.locator("#people"), "Ada (you)");
  });

  it("keeps line breaks: Shift+Enter starts a new line, Enter sends", async () => {
    const room = uniqueName("lines");
    const page = await openRoom(ada, room, "Ada");
    const box = page.getByLabel("Message", { exact: true });
    await box.click();
    await page.keyboard.type("line one");
    await page.keyboard.press("Shift+Enter");
    await page.keyboard.type("line two");
    await page.keyboard.press("Enter");
    await expectMessages(page, ["line one\nline two"]);
  });
});

describe("history", () => {
  it("shows the last 50 messages and loads earlier ones on request", async () => {
    const room = uniqueName("paging");
    await post(room, 60);
    const page = await openRoom(ada, room, "Ada");
    const numbered = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);
    await expectMessages(page, numbered(11, 60));

    await page.getByRole("button", { name: "Load earlier messages" }).click();

    await expectMessages(page, numbered(1, 60));
    assert.equal(await page.getByRole("button", { name: "Load earlier messages" }).isHidden(), true);
  });
});

describe("keeping up", () => {
  it("acknowledges what it reads every 32 messages, so a busy room never closes it as too far behind", async () => {
    const room = uniqueName("acks");
    const page = await ada.newPage();
    const acks = [];
    page.on("websocket", (socket) =>
      socket.on("framesent", ({ payload }) => {
        if (typeof payload === "string" && payload.includes('"ack"')) acks.push(JSON.parse(payload));
      }),
    );
    await page.goto(`${BASE_URL}/?room=${room}&name=Ada`);
    await expectText(page.locator("#status"), "Live");
    await post(room, 70);
    await expectMessages(
      page,
      Array.from({ length: 70 }, (_, i) => `m${i + 1}`),
    );
    assert.deepEqual(acks, [
      { type: "ack", id: 32 },
      { type: "ack", id: 64 },
    ]);
    assert.equal((await page.locator("#status").textContent()).trim(), "Live");
  });
});

describe("user text is shown as text", () => {
  it("displays markup in a message as characters and never runs it", async () => {
    const room = uniqueName("xss");
    const attack = "<img src=x onerror=alert(1)>";
    const adaPage = await openRoom(ada, room, "Ada");
    const gracePage = await openRoom(grace, room, "Grace");
    const dialogs = [];
    for (const page of [adaPage, gracePage]) page.on("dialog", (dialog) => dialogs.push(dialog.message()));

    await send(adaPage, attack);

    await expectMessages(gracePage, [attack]);
    await expectMessages(adaPage, [attack]);
    for (const page of [adaPage, gracePage]) assert.equal(await page.locator("#messages img").count(), 0);
    assert.deepEqual(dialogs, []);
  });

  it("displays markup in a name as characters too", async () => {
    const room = uniqueName("xss-name");
    const adaPage = await openRoom(ada, room, "Ada");
    const evil = await openRoom(grace, room, "<b>Mallory</b>");
    await send(evil, "hi");
    await expectText(adaPage.locator("#people"), /<b>Mallory<\/b>/);
    await expectText(adaPage.locator("#messages .author"), "<b>Mallory</b>");
    assert.equal(await adaPage.locator("#people b, #messages b").count(), 0);
  });
});

describe("reconnecting", () => {
  it("reconnects by itself after a drop and shows exactly the messages it missed", async () => {
    const { adaPage, gracePage } = await openRoomWithBreakableAda("resume");
    const urls = [];
    adaPage.on("websocket", (socket) => urls.push(new URL(socket.url())));
    await send(gracePage, "before the drop");
    await expectMessages(adaPage, ["before the drop"]);

    await adaPage.evaluate(() => globalThis.outage.start());
    await expectText(adaPage.locator("#status"), /^Reconnecting/);
    await send(gracePage, "missed 1");
    await send(gracePage, "missed 2");
    await expectMessages(gracePage, ["before the drop", "missed 1", "missed 2"]);
    await adaPage.evaluate(() => globalThis.outage.end());

    await expectText(adaPage.locator("#status"), "Live", { timeout: 30_000 });
    await expectMessages(adaPage, ["before the drop", "missed 1", "missed 2"]);
    // It asked for what came after the last message it had, instead of the whole history.
    const resumed = urls.at(-1);
    assert.equal(resumed.searchParams.get("after"), "1");
    assert.match(resumed.searchParams.get("epoch") ?? "", /^[0-9a-f]{16}$/);
    // And it can still talk.
    await send(adaPage, "back");
    await expectMessages(gracePage, ["before the drop", "missed 1", "missed 2", "back"]);
  });
});

describe("sending across a drop", () => {
  /** Breaks Ada's connection and waits until the page is live again on a new one. */
  async function dropAndReconnect(page) {
    await page.evaluate(() => globalThis.outage.start());
    await expectText(page.locator("#status"), /^Reconnecting/);
    await page.evaluate(() => globalThis.outage.end());
    await expectText(page.locator("#status"), "Live", { timeout: 30_000 });
  }

  it("sends again after a reconnect a message a dead connection swallowed, and it arrives once", async () => {
    const { room, adaPage, gracePage } = await openRoomWithBreakableAda("retry");
    // A connection that is dead without the browser knowing: what the page sends goes nowhere.
    await adaPage.evaluate(() => globalThis.outage.blackhole());
    await send(adaPage, "lost in transit");
    await dropAndReconnect(adaPage);
    await expectMessages(gracePage, ["lost in transit"]);
    await expectMessages(adaPage, ["lost in transit"]);
    assert.deepEqual(await api(`${room}/count`), { room, count: 1 });
  });

  it("stores and shows once a message whose acknowledgement was lost", async () => {
    const { room, adaPage, gracePage } = await openRoomWithBreakableAda("acked");
    // The message reaches the room, the acknowledgement never reaches the page.
    await adaPage.evaluate(() => globalThis.outage.silence());
    await send(adaPage, "stored, never acknowledged");
    await expectMessages(gracePage, ["stored, never acknowledged"]);
    await dropAndReconnect(adaPage);
    await expectMessages(adaPage, ["stored, never acknowledged"]);
    await send(adaPage, "next");
    await expectMessages(gracePage, ["stored, never acknowledged", "next"]);
    assert.deepEqual(await api(`${room}/count`), { room, count: 2 });
  });
});

describe("joining", () => {
  it("refuses an invalid room name with a visible message", async () => {
    const page = await ada.newPage();
    await page.goto(`${BASE_URL}/?room=no spaces&name=Ada`);
    await expectText(page.locator("#join-error"), /is not a valid room/);
    await expectText(page.locator("#status"), "Not joined");
    assert.equal(await page.getByLabel("Room").getAttribute("aria-invalid"), "true");
  });

  it("asks for a name before joining", async () => {
    const page = await ada.newPage();
    await page.goto(`${BASE_URL}/?room=${uniqueName("noname")}`);
    await expectText(page.locator("#status"), "Not joined");
    await page.getByLabel("Your name").fill("Ada");
    await page.getByRole("button", { name: "Join" }).click();
    await expectText(page.locator("#status"), "Live");
  });
});
