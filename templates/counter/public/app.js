// The counter page: one WebSocket to the counter named in the box, which reconnects by itself.
// Plain browser JavaScript, no build step: copy it freely. The socket's heartbeat, backoff and
// status pill come from the page kit (/kit/kit.js, shared by the apps' pages).
//
// The server is the only source of truth. Buttons send a change and the page shows the value the
// server broadcasts back (to every tab), so tabs never disagree and a reconnect needs no merging:
// the server's greeting on every new socket carries the current value.
import { LiveSocket, pageElements, problemDetail, requestJson, showFieldError, statusPill } from "/kit/kit.js";

const NAME = /^[A-Za-z0-9_-]{1,64}$/; // the same rule the Worker enforces

const ui = pageElements();
const setState = statusPill({ disables: [ui.increment, ui.decrement], stale: ui.value });

let name = null; // the counter shown, once a valid name is picked
const live = new LiveSocket({
  url: () => `/api/counters/${name}/websocket`,
  onMessage: receive,
  onState: setState,
  backoffCapMs: 10_000,
});

function open(candidate) {
  if (!NAME.test(candidate)) {
    return showFieldError(
      ui.name,
      ui.nameError,
      `"${candidate}" is not a valid name: use 1–64 letters, digits, _ or -.`,
    );
  }
  showFieldError(ui.name, ui.nameError);
  showError("");
  name = candidate;
  ui.name.value = name;
  history.replaceState(null, "", `?name=${encodeURIComponent(name)}`);
  document.title = `${name} · Counter`;
  ui.value.textContent = "–";
  ui.reset.disabled = false;
  live.start();
}

function receive(data) {
  const message = JSON.parse(data);
  if (message.type === "value") {
    live.resetBackoff();
    showValue(message.value);
    setState("live");
  } else if (message.type === "error") {
    showError(message.detail);
  }
}

function send(type) {
  showError("");
  live.send(JSON.stringify({ type, by: 1 }));
}

async function reset() {
  showError("");
  const result = await requestJson(`/api/counters/${name}`, { method: "DELETE" });
  if (!result) return showError("Could not reach the server; try again in a moment.");
  if (!result.ok) return showError(problemDetail(result, "Reset"));
  showValue(result.body.value); // the socket brings it too, unless it is down right now
}

function showValue(value) {
  const text = value.toLocaleString("en-US");
  ui.value.textContent = text;
  ui.value.style.setProperty("--chars", text.length); // long numbers shrink to fit on one line
}

function showError(text) {
  ui.error.textContent = text;
}

ui.pick.addEventListener("submit", (event) => {
  event.preventDefault();
  open(ui.name.value.trim());
});
ui.increment.addEventListener("click", () => send("increment"));
ui.decrement.addEventListener("click", () => send("decrement"));
ui.reset.addEventListener("click", reset);

const initial = new URLSearchParams(location.search).get("name") ?? "demo";
ui.name.value = initial;
open(initial);
