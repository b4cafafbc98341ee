// The counter page: one WebSocket to the counter named in the box, which reconnects by itself.
// Plain browser JavaScript, no build step: copy it freely.
//
// The server is the only source of truth. Buttons send a change and the page shows the value the
// server broadcasts back (to every tab), so tabs never disagree and a reconnect needs no merging:
// the server's greeting on every new socket carries the current value.

const NAME = /^[A-Za-z0-9_-]{1,64}$/; // the same rule the Worker enforces
const HEARTBEAT_MS = 25_000; // "ping" this often; the runtime answers "pong" without waking the object
const PONG_TIMEOUT_MS = 5_000; // no frame back by then: the connection is dead, even if the browser has not noticed
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 10_000;

const $ = (id) => document.getElementById(id);
const ui = {
  form: $("pick"),
  name: $("name"),
  nameError: $("name-error"),
  status: $("status"),
  statusText: $("status-text"),
  statusCountdown: $("status-countdown"), // aria-hidden: a screen reader hears the state, not every tick
  value: $("value"),
  increment: $("increment"),
  decrement: $("decrement"),
  reset: $("reset"),
  error: $("error"),
};

let name = null; // the counter shown, once a valid name is picked
let socket = null;
let attempt = 0; // failed connections since the last greeting; drives the backoff
const timers = { retry: 0, countdown: 0, heartbeat: 0, pong: 0 };

function open(candidate) {
  if (!NAME.test(candidate)) {
    ui.name.setAttribute("aria-invalid", "true");
    ui.nameError.textContent = `"${candidate}" is not a valid name: use 1–64 letters, digits, _ or -.`;
    ui.name.focus();
    return;
  }
  ui.name.removeAttribute("aria-invalid");
  ui.nameError.textContent = "";
  showError("");
  name = candidate;
  ui.name.value = name;
  history.replaceState(null, "", `?name=${encodeURIComponent(name)}`);
  document.title = `${name} · Counter`;
  ui.value.textContent = "–";
  ui.reset.disabled = false;
  attempt = 0;
  connect();
}

function connect() {
  disconnect();
  setState("connecting");
  const url = new URL(`/api/counters/${name}/websocket`, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url);
  ws.onopen = () => startHeartbeat(ws);
  ws.onmessage = (event) => receive(event.data);
  ws.onclose = reconnectLater; // also follows every error, including a failed handshake
  socket = ws;
}

/** Closes the current socket, if any, without triggering a reconnect. */
function disconnect() {
  for (const key of Object.keys(timers)) {
    clearTimeout(timers[key]);
    clearInterval(timers[key]);
    timers[key] = 0;
  }
  if (!socket) return;
  socket.onopen = socket.onmessage = socket.onclose = null;
  socket.close();
  socket = null;
}

function reconnectLater() {
  disconnect();
  // Exponential backoff with jitter, so clients dropped together do not all return at once.
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
  attempt += 1;
  const due = Date.now() + delay;
  const countdown = () => setState("reconnecting", Math.max(1, Math.ceil((due - Date.now()) / 1000)));
  countdown();
  timers.countdown = setInterval(countdown, 1000);
  timers.retry = setTimeout(connect, delay);
}

/** A tab brought back to the front or a network that returns should not wait out the backoff. */
function reconnectNow() {
  if (!name || !timers.retry) return;
  attempt = 0;
  connect();
}

function startHeartbeat(ws) {
  timers.heartbeat = setInterval(() => {
    ws.send("ping");
    timers.pong = setTimeout(reconnectLater, PONG_TIMEOUT_MS);
  }, HEARTBEAT_MS);
}

function receive(data) {
  clearTimeout(timers.pong); // any frame proves the connection is alive
  if (data === "pong") return;
  const message = JSON.parse(data);
  if (message.type === "value") {
    attempt = 0;
    showValue(message.value);
    setState("live");
  } else if (message.type === "error") {
    showError(message.detail);
  }
}

function send(type) {
  showError("");
  socket.send(JSON.stringify({ type, by: 1 }));
}

async function reset() {
  showError("");
  const response = await fetch(`/api/counters/${name}`, { method: "DELETE" }).catch(() => null);
  if (!response) return showError("Could not reach the server; try again in a moment.");
  const body = await response.json().catch(() => ({}));
  // Errors are problem+json: { type, title, status, detail }.
  if (!response.ok) return showError(body.detail ?? `Reset failed (HTTP ${response.status}).`);
  showValue(body.value); // the socket brings it too, unless it is down right now
}

function showValue(value) {
  const text = value.toLocaleString("en-US");
  ui.value.textContent = text;
  ui.value.style.setProperty("--chars", text.length); // long numbers shrink to fit on one line
}

function showError(text) {
  ui.error.textContent = text;
}

function setState(state, seconds) {
  const live = state === "live";
  ui.status.dataset.state = state;
  ui.statusText.textContent = { live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting" }[state];
  ui.statusCountdown.textContent = state === "reconnecting" ? ` in ${seconds} s` : "";
  ui.increment.disabled = ui.decrement.disabled = !live;
  ui.value.classList.toggle("stale", !live);
}

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  open(ui.name.value.trim());
});
ui.increment.addEventListener("click", () => send("increment"));
ui.decrement.addEventListener("click", () => send("decrement"));
ui.reset.addEventListener("click", reset);
addEventListener("online", reconnectNow);
document.addEventListener("visibilitychange", () => document.hidden || reconnectNow());

const initial = new URLSearchParams(location.search).get("name") ?? "demo";
ui.name.value = initial;
open(initial);
