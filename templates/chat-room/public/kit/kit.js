// Vendored from durable-patterns packages/shared/public/kit.js by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
// The page kit: what the apps' web pages do alike, written once. Plain browser JavaScript (an ES
// module, no bundler), served at /kit/kit.js next to kit.css; each page imports what it uses:
//
//   import { LiveSocket, pageElements, statusPill, whenBack } from "/kit/kit.js";
//
// The heart of it is LiveSocket: a WebSocket that keeps itself alive (heartbeat pings, a missed
// pong means a dead connection even when the browser has not noticed) and reconnects by itself
// after a drop, with exponential backoff and jitter so that pages dropped together do not all
// return at once, showing the countdown in the status pill.

const HEARTBEAT_MS = 25_000; // "ping" this often; the runtime answers "pong" without waking the object
const PONG_TIMEOUT_MS = 5_000; // no frame back by then: the connection is dead, even if the browser has not noticed
const BACKOFF_BASE_MS = 500;

/**
 * A WebSocket to the server that reconnects by itself. The page says where to connect and what to
 * do with each message; LiveSocket owns the socket, the heartbeat and the retries, and retries at
 * once, without waiting out the backoff, when the network comes back or the tab returns to the front.
 *
 * @example
 * const live = new LiveSocket({
 *   url: () => `/api/counters/${name}/websocket`,
 *   onMessage: (data) => show(JSON.parse(data)),
 *   onState: setState, // "connecting", or "reconnecting" with the seconds left
 * });
 * live.start();
 */
export class LiveSocket {
  #options;
  #socket = null;
  #attempt = 0; // failed connections since the last resetBackoff(); drives the backoff
  #timers = { retry: 0, countdown: 0, heartbeat: 0, pong: 0 };
  #generation = 0; // bumped by close(): an address still being worked out is then dropped

  /**
   * @param {object} options
   * @param {() => string | URL | null | undefined | Promise<string | URL | null | undefined>} options.url
   *   the address of each attempt (http or ws, relative to the page); none when it cannot be made
   *   now (e.g. a token could not be had), which is retried like a failed connection
   * @param {(data: string) => void} options.onMessage every frame but the runtime's "pong"
   * @param {(state: "connecting" | "reconnecting", seconds?: number) => void} options.onState
   * @param {() => void} [options.onOpen] the socket is open (e.g. read the state it missed)
   * @param {() => void} [options.onHeartbeat] just before each ping (e.g. acknowledge what was read)
   * @param {(event?: CloseEvent) => number | undefined} [options.retryDelay] a delay of the page's
   *   own after some closes (a full room), instead of the backoff's
   * @param {() => void} [options.retry] what a due retry does; `connect()` by default
   * @param {number} [options.backoffCapMs] the longest wait between attempts
   */
  constructor(options) {
    this.#options = { backoffCapMs: 15_000, retry: () => this.connect(), ...options };
    whenBack(() => this.reconnectNow());
  }

  /** The socket, open or opening; null while waiting to retry or closed. */
  get socket() {
    return this.#socket;
  }

  get isOpen() {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  /** Sends `data` when the socket is open; answers whether it did. */
  send(data) {
    if (!this.isOpen) return false;
    this.#socket.send(data);
    return true;
  }

  /** Connects with the backoff counted from zero: something new to show, or the user asked. */
  start() {
    this.resetBackoff();
    return this.connect();
  }

  /** The connection proved good (the server's greeting arrived): the next drop backs off from the start. */
  resetBackoff() {
    this.#attempt = 0;
  }

  /** Replaces the socket with a new one. */
  async connect() {
    this.close();
    const generation = this.#generation;
    this.#options.onState("connecting");
    const url = await this.#options.url();
    if (generation !== this.#generation) return; // closed, or connected again, while the address was worked out
    if (url === null || url === undefined) return this.reconnectLater();
    const address = new URL(url, location.href);
    address.protocol = address.protocol === "https:" || address.protocol === "wss:" ? "wss:" : "ws:";
    const ws = new WebSocket(address);
    ws.onopen = () => {
      this.#startHeartbeat(ws);
      this.#options.onOpen?.();
    };
    ws.onmessage = (event) => this.#receive(event.data);
    ws.onclose = (event) => this.reconnectLater(event); // also follows every error, including a failed handshake
    this.#socket = ws;
  }

  /** Closes the socket, if any, and cancels a pending retry, without reconnecting. */
  close() {
    this.#generation += 1;
    for (const key of Object.keys(this.#timers)) {
      clearTimeout(this.#timers[key]);
      clearInterval(this.#timers[key]);
      this.#timers[key] = 0;
    }
    const ws = this.#socket;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.close();
    this.#socket = null;
  }

  /** Drops the socket and tries again after the backoff, counting the seconds down through onState. */
  reconnectLater(event) {
    this.close();
    // Exponential backoff with jitter, so clients dropped together do not all return at once.
    const ceiling = Math.min(this.#options.backoffCapMs, BACKOFF_BASE_MS * 2 ** this.#attempt);
    const delay = this.#options.retryDelay?.(event) ?? ceiling / 2 + (Math.random() * ceiling) / 2;
    this.#attempt += 1;
    const due = Date.now() + delay;
    const countdown = () => this.#options.onState("reconnecting", Math.max(1, Math.ceil((due - Date.now()) / 1000)));
    countdown();
    this.#timers.countdown = setInterval(countdown, 1000);
    this.#timers.retry = setTimeout(() => this.#options.retry(), delay);
  }

  /** Retries at once if a retry is pending: a tab brought back to the front or a network that returns should not wait out the backoff. */
  reconnectNow() {
    if (!this.#timers.retry) return;
    this.resetBackoff();
    this.#options.retry();
  }

  #startHeartbeat(ws) {
    this.#timers.heartbeat = setInterval(() => {
      this.#options.onHeartbeat?.();
      ws.send("ping");
      this.#timers.pong = setTimeout(() => this.reconnectLater(), PONG_TIMEOUT_MS);
    }, HEARTBEAT_MS);
  }

  #receive(data) {
    clearTimeout(this.#timers.pong); // any frame proves the connection is alive
    if (data !== "pong") this.#options.onMessage(data);
  }
}

/**
 * The page's elements that have an id, by that id in camelCase (`name-error` → `nameError`), so a
 * script names no id twice. Reading one the page does not have throws at once, naming the id,
 * rather than handing back null for a later line to trip over. Elements added later are not in it.
 *
 * @example
 * const ui = pageElements(); // <form id="pick">, <p id="name-error">
 * ui.pick.addEventListener("submit", open);
 * ui.nameError.textContent = "1–64 letters, digits, _ or -";
 */
export function pageElements() {
  // getAttribute, not el.id: a form's `id` is its control named "id" when it has one.
  const found = [...document.querySelectorAll("[id]")].map((el) => [camelCase(el.getAttribute("id")), el]);
  return new Proxy(Object.fromEntries(found), {
    get(elements, key) {
      if (typeof key !== "string" || key in elements || key === "then") return elements[key];
      throw new Error(`The page has no element with id "${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}".`);
    },
  });
}

const camelCase = (id) => id.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());

const STATE_WORDS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting", offline: "Offline" };

/**
 * Shows the connection's state in the page's status pill (kit.css's `.status`: `#status` holding
 * `#status-text` and `#status-countdown`), and what follows from it: while the page is not live,
 * the `disables` controls are disabled and the `stale` element is dimmed (class `stale`), since
 * what it shows may be out of date. Answers `show(state, seconds)`, for LiveSocket's `onState`.
 *
 * @param {object} [options]
 * @param {string} [options.idle] the page's own words for "not connected to anything"
 * @param {HTMLButtonElement[]} [options.disables] controls that only work while live
 * @param {HTMLElement} [options.stale] what shows the live state
 * @example
 * const setState = statusPill({ disables: [ui.increment], stale: ui.value });
 * setState("reconnecting", 3); // "Reconnecting in 3 s", + disabled, the value dimmed
 */
export function statusPill({ idle = "Not connected", disables = [], stale = null } = {}) {
  const pill = document.getElementById("status");
  const text = document.getElementById("status-text");
  const countdown = document.getElementById("status-countdown"); // aria-hidden: a screen reader hears the state, not every tick
  const words = { ...STATE_WORDS, idle };
  return (state, seconds) => {
    const live = state === "live";
    pill.dataset.state = state;
    text.textContent = words[state];
    countdown.textContent = state === "reconnecting" ? ` in ${seconds} s` : "";
    for (const control of disables) control.disabled = !live;
    stale?.classList.toggle("stale", !live);
  };
}

/** Calls `callback` when the network comes back or the tab returns to the front. */
export function whenBack(callback) {
  addEventListener("online", callback);
  document.addEventListener("visibilitychange", () => document.hidden || callback());
}

/**
 * Calls a JSON API: `body`, when given, is sent as JSON. Answers `{ ok, status, body }` with the
 * answer's JSON (a problem+json's too; null when it has none), or null when the server could not
 * be reached.
 *
 * @example
 * const result = await requestJson(`/api/counters/${name}`, { method: "DELETE" });
 * if (result && !result.ok) showError(problemDetail(result, "Reset"));
 */
export async function requestJson(path, { method = "GET", headers = {}, body } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    return null;
  }
  const answer = response.status === 204 ? null : await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, body: answer };
}

/** Errors are problem+json ({ type, title, status, detail }): its detail, or a sentence naming the status. */
export function problemDetail(result, what) {
  return result.body?.detail ?? `${what} failed (HTTP ${result.status}).`;
}

/**
 * Shows `message` as the field's error (its `aria-invalid`, the text of `error`, the focus), or,
 * with no message, clears it.
 */
export function showFieldError(input, error, message = "") {
  error.textContent = message;
  if (!message) return input.removeAttribute("aria-invalid");
  input.setAttribute("aria-invalid", "true");
  input.focus();
}
