// The chat page: one WebSocket to the room, which reconnects by itself and resumes where it left
// off. Plain browser JavaScript, no build step: copy it freely.
//
// Everything people type is shown with textContent, never innerHTML: a message such as
// <img src=x onerror=alert(1)> is displayed as those characters and never becomes markup.
//
// On every (re)connect the server's welcome carries what the page needs: who is present, and the
// recent history, or, when the page sends `after=<last id>&epoch=<epoch>`, exactly the messages it
// missed. Messages are kept by id, so nothing is shown twice and nothing is lost across a drop.
//
// The page acknowledges what it has read ({"type":"ack","id"}) every 32 messages or 64 KiB, and
// with each heartbeat: the room closes a socket that falls too far behind (1008 too_far_behind,
// e.g. a tab frozen in the background), and the page then reconnects and resumes like after a drop.
//
// Each message the page sends carries a random `clientId` and stays in the outbox until the room
// acknowledges it (the broadcast back, with that clientId). After a reconnect the page sends again
// whatever is still in the outbox, with the same clientIds: the room answers a message it had
// already stored with the original (same id) instead of storing it twice.
//
// The socket's heartbeat, backoff and status pill come from the page kit (/kit/kit.js, shared by
// the apps' pages).
import { LiveSocket, pageElements, requestJson, statusPill } from "/kit/kit.js";

const ROOM = /^[A-Za-z0-9_-]{1,64}$/; // the same rules the Worker enforces
const NAME_MAX = 32;
const TEXT_MAX = 2_000;
const ROOM_FULL_DELAY_MS = 30_000; // a full room will not have space again in a second
const ACK_EVERY_MESSAGES = 32; // acknowledge this often; the room closes a socket 1,000 messages
const ACK_EVERY_BYTES = 64 * 1024; // or 512 KiB behind its last acknowledgement

const ui = pageElements();
const setState = statusPill({ disables: [ui.text, ui.send], stale: ui.log });

/** What the page is showing: one room, joined under one name. */
let room = null;
let name = null;
let you = null; // the server's user for this connection: { id, name, joinedAt }
let epoch = null; // the room's life; a different one after a purge means "start over"
let lastId = 0; // the newest message id shown; sent as `after` when reconnecting
let oldestId = null; // the oldest shown, for "Load earlier messages"
const shown = new Set(); // ids already in the list
const people = new Map(); // connection id -> user
const outbox = new Map(); // clientId -> text: sent, not yet acknowledged; resent after a reconnect

const unacked = { id: 0, messages: 0, bytes: 0 }; // what was read since the last acknowledgement
let tokensEnabled = null; // whether rooms need tokens: asked once (GET /api/tokens), then known
const live = new LiveSocket({
  url: socketUrl,
  onMessage: receive,
  onState: setState,
  onHeartbeat: acknowledge,
  retryDelay: (event) =>
    event?.code === 1008 && event.reason === "room_full" ? ROOM_FULL_DELAY_MS + Math.random() * 5_000 : undefined,
});

function join(candidateRoom, candidateName) {
  const problem = !ROOM.test(candidateRoom)
    ? `"${candidateRoom}" is not a valid room: use 1–64 letters, digits, _ or -.`
    : validName(candidateName);
  if (problem) {
    ui.joinError.textContent = problem;
    (ROOM.test(candidateRoom) ? ui.name : ui.room).setAttribute("aria-invalid", "true");
    (ROOM.test(candidateRoom) ? ui.name : ui.room).focus();
    return;
  }
  ui.room.removeAttribute("aria-invalid");
  ui.name.removeAttribute("aria-invalid");
  ui.joinError.textContent = "";
  showError("");
  if (candidateRoom !== room) {
    forgetRoom();
    outbox.clear(); // unacknowledged messages belong to the room they were written in
  }
  room = candidateRoom;
  name = candidateName;
  ui.room.value = room;
  ui.name.value = name;
  localStorage.setItem("chat-name", name);
  history.replaceState(null, "", `?room=${encodeURIComponent(room)}`);
  document.title = `${room} · Chat room`;
  ui.title.textContent = `#${room}`;
  live.start();
}

function validName(candidate) {
  if (candidate.length === 0) return "Enter a name to join with.";
  if (candidate.length > NAME_MAX) return `Names are at most ${NAME_MAX} characters.`;
  if ([...candidate].some((char) => char < " " || char === "\u007f")) return "Names cannot contain control characters.";
  return null;
}

/** Clears everything shown for the previous room (or the previous life of this room). */
function forgetRoom() {
  epoch = null;
  lastId = 0;
  oldestId = null;
  shown.clear();

  ui.messages.replaceChildren();
  ui.older.hidden = true;
  updateEmpty();
}

/** The room's WebSocket address for the next connection, or none when no token could be had. */
async function socketUrl() {
  const url = new URL(`/api/rooms/${room}/websocket`, location.href);
  if (epoch !== null) {
    url.searchParams.set("after", String(lastId));
    url.searchParams.set("epoch", epoch);
  }
  const token = await fetchToken();
  if (token === undefined) return null;
  if (token) url.searchParams.set("token", token);
  url.searchParams.set("name", name); // after fetchToken: a token from your login may rename
  return url;
}

/**
 * A fresh room token when the server uses them (its tokens are short-lived, so one per connect
 * and per page of history), `null` when it does not, `undefined` when the server could not be
 * reached.
 */
async function fetchToken() {
  if (tokensEnabled === null) {
    const answer = await requestJson("/api/tokens");
    if (!answer?.ok || !answer.body) return undefined;
    tokensEnabled = answer.body.tokens === true;
  }
  if (!tokensEnabled) return null;
  const result = await requestJson(`/api/rooms/${room}/tokens`, { method: "POST", body: { name } });
  if (!result) return undefined;
  const body = result.body ?? {};
  if (result.ok) {
    // Behind an identity provider (e.g. Cloudflare Access) the token is issued to the name in its
    // claims, whatever the page asked for: join under that name.
    if (typeof body.name === "string" && body.name !== name) ui.name.value = name = body.name;
    return body.token;
  }
  if (body.type === "urn:durable-patterns:problem:tokens-disabled") {
    tokensEnabled = false;
    return null;
  }
  showError(body.detail ?? `Could not get a token (HTTP ${result.status}).`);
  return undefined;
}

/** Tells the room what the page has read, when there is anything new. */
function acknowledge() {
  if (unacked.messages === 0 || !live.send(JSON.stringify({ type: "ack", id: unacked.id }))) return;
  unacked.messages = unacked.bytes = 0;
}

function receive(data) {
  const message = JSON.parse(data);
  switch (message.type) {
    case "welcome":
      // The room counts from the welcome (and a purged room numbers its messages from 1 again).
      unacked.id = unacked.messages = unacked.bytes = 0;
      return welcome(message);
    case "message":
      unacked.id = Math.max(unacked.id, message.id);
      unacked.messages += 1;
      unacked.bytes += new TextEncoder().encode(data).byteLength;
      if (unacked.messages >= ACK_EVERY_MESSAGES || unacked.bytes >= ACK_EVERY_BYTES) acknowledge();
      return addMessages([message]);
    case "join":
      people.set(message.user.id, message.user);
      renderPeople();
      return announce(`${message.user.name} joined`);
    case "leave":
      people.delete(message.user.id);
      renderPeople();
      return announce(`${message.user.name} left`);
    case "error":
      return showError(message.detail);
  }
}

function welcome(message) {
  live.resetBackoff();
  you = message.you;
  // Not resuming (first join), the room was purged, or more was missed than the welcome holds:
  // show the welcome's history alone and let "Load earlier messages" page back from there.
  if (epoch === null || message.reset || message.truncated) forgetRoom();
  epoch = message.epoch;
  addMessages(message.history);
  if (oldestId === null && message.history.length > 0) oldestId = message.history[0].id;
  ui.older.hidden = oldestId === null || oldestId <= 1;
  people.clear();
  for (const user of message.present) people.set(user.id, user);
  renderPeople();
  if (message.reset) announce("This room was cleared after being idle; it starts over.");
  setState("live");
  // What was sent but never acknowledged (the history above acknowledged what it holds): sent
  // again with the same clientIds, so a message the room had stored is not stored twice.
  for (const [clientId, text] of outbox) live.send(JSON.stringify({ type: "message", text, clientId }));
}

/** Shows messages in id order, skipping any already shown. */
function addMessages(messages) {
  const atBottom = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40;
  for (const message of messages) {
    if (message.clientId !== undefined) outbox.delete(message.clientId); // acknowledged
    if (shown.has(message.id)) continue;
    shown.add(message.id);
    const item = renderMessage(message);
    // Usually the newest; older ones (paging back) go before the first newer one.
    const next = [...ui.messages.children].find((li) => Number(li.dataset.id) > message.id);
    ui.messages.insertBefore(item, next ?? null);
    lastId = Math.max(lastId, message.id);
    oldestId = oldestId === null ? message.id : Math.min(oldestId, message.id);
  }
  updateEmpty();
  if (atBottom) ui.log.scrollTop = ui.log.scrollHeight;
}

function renderMessage(message) {
  const item = document.createElement("li");
  item.className = "message";
  item.dataset.id = String(message.id);
  if (you && message.userId === you.id) item.classList.add("mine");
  const meta = document.createElement("p");
  meta.className = "meta";
  const author = document.createElement("span");
  author.className = "author";
  author.textContent = message.name; // text, never markup
  const time = document.createElement("time");
  time.dateTime = new Date(message.at).toISOString();
  time.textContent = new Date(message.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  meta.append(author, " ", time);
  const text = document.createElement("p");
  text.className = "text";
  text.textContent = message.text; // text, never markup
  item.append(meta, text);
  return item;
}

async function loadOlder() {
  if (oldestId === null) return;
  ui.older.disabled = true;
  // When the server uses tokens, every route of the room needs one, as a bearer header.
  const token = await fetchToken();
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const result =
    token === undefined
      ? null
      : await requestJson(`/api/rooms/${room}/messages?before=${oldestId}&limit=50`, { headers });
  ui.older.disabled = false;
  if (!result?.ok) return showError("Could not load earlier messages; try again in a moment.");
  const page = result.body;
  const height = ui.log.scrollHeight;
  addMessages(page.messages.reverse());
  ui.log.scrollTop += ui.log.scrollHeight - height; // keep the reader's place
  ui.older.hidden = page.next === null;
}

function renderPeople() {
  const users = [...people.values()].sort((a, b) => a.joinedAt - b.joinedAt);
  ui.people.replaceChildren(
    ...users.map((user) => {
      const item = document.createElement("li");
      item.textContent = user.name; // text, never markup
      if (you && user.id === you.id) {
        const self = document.createElement("span");
        self.className = "you";
        self.textContent = " (you)";
        item.append(self);
      }
      return item;
    }),
  );
  ui.peopleCount.textContent = String(users.length);
}

function send(event) {
  event.preventDefault();
  const text = ui.text.value.trim();
  if (!text) return;
  if (text.length > TEXT_MAX) return showError(`Messages are at most ${TEXT_MAX} characters.`);
  // The room's other rules, checked here too: a message it refuses would stay in the outbox.
  if (
    [...text].some((char) => (char < " " && char !== "\n" && char !== "\t") || char === "\u007f") ||
    !text.isWellFormed()
  ) {
    return showError("Messages cannot contain control characters.");
  }
  if (!live.isOpen) return showError("Not connected; your message is still here.");
  showError("");
  // 128 random bits; getRandomValues also works where randomUUID does not (plain http).
  const clientId = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
  outbox.set(clientId, text);
  live.send(JSON.stringify({ type: "message", text, clientId }));
  ui.text.value = "";
  resizeComposer();
}

function updateEmpty() {
  ui.empty.hidden = ui.messages.children.length > 0;
}

function announce(text) {
  ui.announcer.textContent = text;
}

function showError(text) {
  ui.error.textContent = text;
}

function resizeComposer() {
  ui.text.style.height = "auto";
  ui.text.style.height = `${Math.min(ui.text.scrollHeight, 160)}px`;
}

ui.join.addEventListener("submit", (event) => {
  event.preventDefault();
  join(ui.room.value.trim(), ui.name.value.trim());
});
ui.composer.addEventListener("submit", send);
ui.text.addEventListener("input", resizeComposer);
// Enter sends, Shift+Enter starts a new line.
ui.text.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
  event.preventDefault();
  ui.composer.requestSubmit();
});
ui.older.addEventListener("click", loadOlder);

const params = new URLSearchParams(location.search);
const initialRoom = params.get("room") ?? "lobby";
const initialName = params.get("name") ?? localStorage.getItem("chat-name") ?? "";
ui.room.value = initialRoom;
ui.name.value = initialName;
updateEmpty();
if (initialName) join(initialRoom, initialName.trim());
else ui.name.focus();
