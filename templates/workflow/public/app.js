// The workflow dashboard: instances listed from the index (filter by workflow and status, paged
// with the API's opaque `next` cursor), counts per status, and one instance's steps kept live over
// its WebSocket, with the buttons of its lifecycle. Plain browser JavaScript, no build step.
//
// The token: asked once, kept in sessionStorage (this tab only) and sent as `Authorization:
// Bearer`. It never goes in the page's address; the WebSocket alone carries it as `?token=`,
// because a browser cannot set headers on one.
//
// Everything the server sends is shown with textContent and createElement, never innerHTML: an
// event payload such as <img src=x onerror=alert(1)> is displayed as those characters.
//
// The instance's WebSocket reconnects by itself (backoff with jitter) and resyncs with a GET of
// the instance on every (re)connect; messages that arrive during that GET are applied after it.
// The socket's heartbeat, backoff and status pill come from the page kit (/kit/kit.js, shared by
// the apps' pages).
import {
  LiveSocket,
  pageElements,
  problemDetail,
  requestJson,
  showFieldError,
  statusPill,
  whenBack,
} from "/kit/kit.js";

const TOKEN_KEY = "workflow-token";
const STATUSES = ["queued", "running", "paused", "waiting", "errored", "terminated", "complete"];
const FINAL = new Set(["complete", "errored", "terminated"]);
const INSTANCE_ID = /^[a-zA-Z0-9_][a-zA-Z0-9-_]{0,63}$/; // the same rules the Worker enforces
const EVENT_TYPE = /^[a-zA-Z0-9_.:-]{1,64}$/;
/** Which statuses each button acts from (README, the lifecycle routes). */
const ALLOWED = {
  pause: new Set(["queued", "running", "waiting"]),
  resume: new Set(["paused"]),
  terminate: new Set(["queued", "running", "waiting", "paused"]),
  restart: new Set(STATUSES),
};
const REFRESH_MS = 15_000; // the list and the counts, while the tab is visible
const INDEX_SETTLE_MS = 600; // after a change, the index is updated by the instance's next alarm

const ui = pageElements();
const actions = { pause: ui.pause, resume: ui.resume, terminate: ui.terminate, restart: ui.restart };
const setLive = statusPill({ idle: "Not watching", stale: ui.timeline });

let token = sessionStorage.getItem(TOKEN_KEY);
let initialInstance = new URLSearchParams(location.search).get("instance");
let initialWorkflow = new URLSearchParams(location.search).get("workflow");
let workflows = []; // names, from GET /api/workflows
let cursors = [null]; // the cursor of each page seen so far; the last is the current page's
let listSeq = 0; // ignores answers to requests a newer one replaced
let countsSeq = 0;
const timers = { refresh: 0, settle: 0, resync: 0 };

/** The instance shown: its view (GET /api/instances/:id) and its steps by key. */
const watched = {
  id: null,
  view: null,
  steps: new Map(),
  syncing: false, // a GET is in flight: messages wait in `pending`
  pending: [],
  seq: 0,
};

/** The instance's live socket: opened once its first GET answered, resynced on every (re)connect. */
const live = new LiveSocket({
  url: () => {
    const url = new URL(`/api/instances/${watched.id}/websocket`, location.href);
    url.searchParams.set("token", token); // a browser cannot set headers on a WebSocket
    return url;
  },
  onOpen: resync,
  onMessage: receive,
  onState: setLive,
  // The first GET never happened (offline at open): start over; otherwise reopen the socket.
  retry: () => (watched.view === null ? watch(watched.id, { focus: false }) : live.connect()),
});

// ---- The API --------------------------------------------------------------------------------

/**
 * Calls the API with the token. Answers `{ status, body }`, or null when the call could not be
 * made (offline) or the token was refused (the page then asks for it again).
 */
async function api(method, path, body) {
  const result = await requestJson(`/api${path}`, { method, headers: { authorization: `Bearer ${token}` }, body });
  setOffline(result === null);
  if (result?.status === 401 || (result?.status === 503 && result.body?.type?.endsWith(":not-configured"))) {
    refused(result.status, result.body);
    return null;
  }
  return result;
}

/** 401: the token is wrong (or was rotated); 503: the deployment has no token at all. */
function refused(status, problem) {
  const detail = problem?.detail ?? "";
  const message =
    status === 401
      ? `The server refused the token (401 Unauthorized). ${detail} Enter the WORKFLOW_TOKEN again.`
      : `The server answered 503 Service Unavailable: ${detail || "it is not configured."} Set the WORKFLOW_TOKEN secret (wrangler secret put WORKFLOW_TOKEN), then sign in again.`;
  signOut(message.replace(/\s+/g, " ").trim());
}

// ---- Signing in -----------------------------------------------------------------------------

function showSignIn(message = "") {
  ui.dashboard.hidden = true;
  ui.signOut.hidden = true;
  ui.signIn.hidden = false;
  showFieldError(ui.token, ui.tokenError, message);
  ui.token.focus();
}

function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  stopWatching();
  clearInterval(timers.refresh);
  clearTimeout(timers.settle);
  showSignIn(message);
}

async function signIn(candidate) {
  if (!candidate) return showSignIn("Enter the API token.");
  token = candidate;
  ui.tokenError.textContent = "";
  ui.signIn.setAttribute("aria-busy", "true");
  const ok = await loadCounts();
  ui.signIn.removeAttribute("aria-busy");
  if (!ok) {
    // Refused: refused() has shown the form again with why. Offline: say so, keep the form.
    if (token) {
      token = null;
      showSignIn("The server cannot be reached; try again when you are online.");
    }
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  ui.token.value = "";
  showDashboard({ counts: false });
  ui.listHeading.focus();
}

/** Shows the lists (and the instance named in the address); `counts: false` when they were just read. */
async function showDashboard({ counts = true } = {}) {
  ui.signIn.hidden = true;
  ui.dashboard.hidden = false;
  ui.signOut.hidden = false;
  // The counts first: they name the workflows, which the filter from the address needs.
  if (counts) await loadCounts();
  if (!token) return; // refused
  loadList();
  clearInterval(timers.refresh);
  timers.refresh = setInterval(() => document.hidden || refreshAll(), REFRESH_MS);
  // The instance named in the address when the page opened, once.
  const id = initialInstance;
  initialInstance = null;
  if (id && INSTANCE_ID.test(id)) watch(id, { focus: false });
}

// ---- Counts and the list --------------------------------------------------------------------

/** Loads the counts (and with them the workflows' names). Answers whether the API answered. */
async function loadCounts() {
  const seq = ++countsSeq;
  const result = await api("GET", "/workflows");
  if (!result || seq !== countsSeq) return Boolean(result);
  if (!result.ok) {
    showError(problemDetail(result, "Loading the counts"));
    return true;
  }
  workflows = result.body.workflows.map((workflow) => workflow.name);
  renderCounts(result.body.workflows);
  renderWorkflowOptions();
  return true;
}

function renderCounts(summaries) {
  const focused = document.activeElement?.closest?.("#counts-body button");
  ui.countsBody.replaceChildren(
    ...summaries.map((summary) => {
      const row = document.createElement("tr");
      const name = document.createElement("th");
      name.scope = "row";
      name.textContent = summary.name;
      row.append(name);
      for (const status of STATUSES) {
        const cell = document.createElement("td");
        const count = summary.counts[status] ?? 0;
        const button = document.createElement("button");
        button.type = "button";
        button.className = "count";
        button.dataset.status = status;
        button.dataset.workflow = summary.name;
        button.textContent = count.toLocaleString("en-US");
        button.setAttribute("aria-label", `${count} ${status} ${summary.name} instances: list them`);
        if (count === 0) button.classList.add("zero");
        button.addEventListener("click", () => setFilters(summary.name, status));
        cell.append(button);
        row.append(cell);
      }
      return row;
    }),
  );
  ui.countsState.textContent = summaries.length === 0 ? "No workflows are registered." : "";
  // A refresh must not throw the keyboard's focus away.
  if (focused) {
    const { workflow, status } = focused.dataset;
    [...ui.countsBody.querySelectorAll("button")]
      .find((button) => button.dataset.workflow === workflow && button.dataset.status === status)
      ?.focus();
  }
}

function renderWorkflowOptions() {
  // The first time, the filter named in the address when the page opened.
  const current = initialWorkflow ?? ui.filterWorkflow.value;
  initialWorkflow = null;
  const options = [new Option("All workflows", "")];
  for (const name of workflows) options.push(new Option(name, name));
  ui.filterWorkflow.replaceChildren(...options);
  ui.filterWorkflow.value = workflows.includes(current) ? current : "";
}

function setFilters(workflow, status) {
  ui.filterWorkflow.value = workflow;
  ui.filterStatus.value = status;
  cursors = [null];
  loadList();
  ui.listHeading.focus();
}

async function loadList() {
  const seq = ++listSeq;
  const query = new URLSearchParams();
  if (ui.filterWorkflow.value) query.set("workflow", ui.filterWorkflow.value);
  if (ui.filterStatus.value) query.set("status", ui.filterStatus.value);
  query.set("limit", ui.filterLimit.value);
  const cursor = cursors.at(-1);
  if (cursor) query.set("cursor", cursor);
  remember();
  ui.instances.setAttribute("aria-busy", "true");
  if (ui.instancesBody.children.length === 0) ui.listState.textContent = "Loading instances…";
  const result = await api("GET", `/instances?${query}`);
  if (seq !== listSeq) return;
  ui.instances.removeAttribute("aria-busy");
  if (!result) return; // offline (kept as it was, marked stale) or refused
  if (!result.ok) {
    ui.listState.textContent = problemDetail(result, "Loading the instances");
    return;
  }
  const page = result.body;
  // A page emptied since it was read (instances deleted): go back to the first.
  if (page.instances.length === 0 && cursors.length > 1) {
    cursors = [null];
    return loadList();
  }
  renderList(page.instances);
  ui.older.disabled = page.next === null;
  ui.older.dataset.next = page.next ?? "";
  ui.newer.disabled = cursors.length === 1;
  ui.pageLabel.textContent = `Page ${cursors.length}`;
}

function renderList(instances) {
  const focused = document.activeElement?.closest?.("#instances-body tr")?.dataset.id;
  ui.instancesBody.replaceChildren(
    ...instances.map((instance) => {
      const row = document.createElement("tr");
      row.dataset.id = instance.id;
      if (instance.id === watched.id) row.setAttribute("aria-current", "true");
      const idCell = document.createElement("th");
      idCell.scope = "row";
      const link = document.createElement("a");
      link.href = `?instance=${encodeURIComponent(instance.id)}`;
      link.textContent = instance.id;
      link.addEventListener("click", (event) => {
        if (event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab asks for the token again
        event.preventDefault();
        watch(instance.id);
      });
      idCell.append(link);
      const status = document.createElement("td");
      status.append(badge(instance.status));
      row.append(idCell, cell(instance.workflow), status, timeCell(instance.createdAt), timeCell(instance.updatedAt));
      return row;
    }),
  );
  // A refresh must not throw the keyboard's focus away.
  if (focused !== undefined) {
    [...ui.instancesBody.children]
      .find((row) => row.dataset.id === focused)
      ?.querySelector("a")
      ?.focus();
  }
  if (instances.length > 0) ui.listState.textContent = "";
  else if (ui.filterWorkflow.value || ui.filterStatus.value) {
    const what = [ui.filterStatus.value, ui.filterWorkflow.value].filter(Boolean).join(" ");
    ui.listState.textContent = `No ${what} instances.`;
  } else ui.listState.textContent = "No instances yet. Start one with POST /api/instances.";
}

function refreshAll() {
  loadCounts();
  loadList();
}

/** The index follows a change within moments (the instance's next alarm): refresh once it has. */
function refreshSoon() {
  clearTimeout(timers.settle);
  timers.settle = setTimeout(refreshAll, INDEX_SETTLE_MS);
}

/** Filters and the instance shown go in the address, so a reload or a link shows the same; never the token. */
function remember() {
  const params = new URLSearchParams();
  if (ui.filterWorkflow.value) params.set("workflow", ui.filterWorkflow.value);
  if (ui.filterStatus.value) params.set("status", ui.filterStatus.value);
  if (watched.id) params.set("instance", watched.id);
  const search = params.size > 0 ? `?${params}` : location.pathname;
  history.replaceState(null, "", search);
}

// ---- One instance, live ---------------------------------------------------------------------

async function watch(id, { focus = true } = {}) {
  stopWatching();
  showError("");
  showFieldError(ui.openId, ui.openError);
  ui.actionResult.textContent = "";
  ui.eventError.textContent = "";
  watched.id = id;
  watched.view = null;
  watched.steps.clear();
  live.resetBackoff();
  ui.openId.value = id;
  ui.detailHeading.textContent = `Instance ${id}`;
  document.title = `${id} · Workflows`;
  for (const row of ui.instancesBody.children) row.toggleAttribute("aria-current", row.dataset.id === id);
  if (focus) ui.detailHeading.focus();
  remember();
  ui.detailBody.hidden = true;
  ui.detailState.hidden = false;
  ui.detailState.textContent = "Loading the instance…";
  setLive("connecting");
  const seq = watched.seq;
  // Known to exist before the socket opens (a socket to an unknown id would only fail).
  const result = await api("GET", `/instances/${id}`);
  if (seq !== watched.seq) return;
  if (!result) return offlineWatch();
  if (!result.ok) {
    setLive("idle");
    ui.detailState.textContent = problemDetail(result, "Loading the instance");
    return;
  }
  showView(result.body);
  live.connect();
}

/** Stops showing the instance's live state (another one is opened, or the token is gone). */
function stopWatching() {
  disconnect();
  watched.seq += 1;
  watched.id = null;
  watched.pending = [];
  watched.syncing = false;
  setLive("idle");
}

/** The first GET could not be made: retry it like a lost connection. */
function offlineWatch() {
  ui.detailState.textContent = "Offline: the instance will load when the server can be reached.";
  live.reconnectLater();
}

/** Closes the socket, if any, without triggering a reconnect. */
function disconnect() {
  live.close();
  clearTimeout(timers.resync);
  timers.resync = 0;
}

/** Reads the instance again (each (re)connect, and each status change, for outputs and errors). */
async function resync() {
  // Over an open socket only: one that dropped since resyncs when it is open again.
  if (!live.isOpen) return;
  const seq = watched.seq;
  const socket = live.socket;
  watched.syncing = true;
  watched.pending = [];
  const result = await api("GET", `/instances/${watched.id}`);
  if (seq !== watched.seq || socket !== live.socket) return;
  watched.syncing = false;
  if (!result) return live.reconnectLater();
  if (!result.ok) {
    // Deleted while shown (or its retention passed).
    disconnect();
    setLive("idle");
    ui.detailBody.hidden = true;
    ui.detailState.hidden = false;
    ui.detailState.textContent = problemDetail(result, "Loading the instance");
    return;
  }
  live.resetBackoff();
  showView(result.body);
  // What arrived during the GET may be newer than what it read: apply it in order, after.
  const pending = watched.pending;
  watched.pending = [];
  for (const message of pending) apply(message);
  setLive("live");
}

function receive(data) {
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return;
  }
  if (message.id !== watched.id) return;
  if (watched.syncing) watched.pending.push(message);
  else apply(message);
}

function apply(message) {
  if (!watched.view) return;
  if (message.type === "status") {
    if (message.status === watched.view.status) return;
    watched.view.status = message.status;
    watched.view.updatedAt = new Date().toISOString();
    renderFacts();
    renderActions();
    updateListRow(message.status);
    // The view's output or error, and the index, follow a status change: read them shortly.
    clearTimeout(timers.resync);
    timers.resync = setTimeout(() => watched.syncing || resync(), 150);
    refreshSoon();
  } else if (message.type === "step") {
    const known = watched.steps.get(message.step.key);
    // Step messages carry no output; keep the one already read.
    const step = { ...message.step };
    if (known && "output" in known && step.status === known.status) step.output = known.output;
    watched.steps.set(step.key, step);
    renderTimeline();
  }
}

function showView(view) {
  watched.view = view;
  watched.steps = new Map(view.steps.map((step) => [step.key, step]));
  ui.detailState.hidden = true;
  ui.detailBody.hidden = false;
  renderFacts();
  renderActions();
  renderTimeline();
  updateListRow(view.status);
}

function renderFacts() {
  const view = watched.view;
  ui.detailWorkflow.textContent = view.workflow;
  setBadge(ui.detailStatus, view.status);
  ui.detailCreated.replaceChildren(timeElement(view.createdAt));
  ui.detailUpdated.replaceChildren(timeElement(view.updatedAt));
  ui.outcome.hidden = !view.error;
  ui.detailError.textContent = view.error ? describeError(view.error) : "";
  if (view.error?.compensationErrors?.length) {
    for (const failed of view.error.compensationErrors) {
      ui.detailError.append(
        document.createElement("br"),
        `Undo of "${failed.step}" failed: ${describeError(failed.error)}`,
      );
    }
  }
  ui.detailParams.textContent = json(view.params);
  ui.detailOutput.textContent = view.output === null ? "none yet" : json(view.output);
}

function renderActions() {
  const status = watched.view.status;
  for (const [action, button] of Object.entries(actions)) button.disabled = !ALLOWED[action].has(status);
  ui.sendEvent.disabled = FINAL.has(status);
}

function renderTimeline() {
  const steps = [...watched.steps.values()].sort((a, b) => a.position - b.position);
  ui.timeline.replaceChildren(...steps.map(renderStep));
  ui.timelineState.hidden = steps.length > 0;
}

function renderStep(step) {
  const item = document.createElement("li");
  item.className = `step kind-${step.kind}`;
  item.dataset.key = step.key;
  item.dataset.status = step.status;

  const head = document.createElement("p");
  head.className = "step-head";
  const name = document.createElement("span");
  name.className = "step-name";
  name.textContent = step.name;
  const kind = document.createElement("span");
  kind.className = "tag";
  kind.textContent = { do: "step", sleep: "sleep", wait: "wait for event", undo: "undo" }[step.kind] ?? step.kind;
  head.append(name, " ", kind, " ", badge(step.status));

  const facts = document.createElement("p");
  facts.className = "step-facts";
  const parts = [];
  // Sleeps and waits make no attempts; steps and undos count theirs (retries included).
  const suspends = step.kind === "sleep" || step.kind === "wait";
  if (!suspends) parts.push(`${step.attempts} attempt${step.attempts === 1 ? "" : "s"}`);
  const took = step.finishedAt ? duration(Date.parse(step.finishedAt) - Date.parse(step.startedAt)) : null;
  if (took) parts.push(`${{ sleep: "slept", wait: "waited" }[step.kind] ?? "took"} ${took}`);
  else parts.push(`started ${clock(step.startedAt)}`);
  if (step.wakeAt && !step.finishedAt) {
    const at = clock(step.wakeAt);
    if (step.status === "retrying") parts.push(`retry ${step.attempts + 1} at ${at}`);
    else if (step.status === "sleeping") parts.push(`sleeps until ${at}`);
    else if (step.status === "waiting") parts.push(`waits for an event until ${at}`);
  }
  facts.textContent = parts.join(" · ");
  item.append(head, facts);

  if (step.error) {
    const error = document.createElement("p");
    error.className = "error-text";
    error.textContent = describeError(step.error);
    item.append(error);
  }
  if (step.output !== undefined && step.output !== null) {
    const output = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Output";
    const pre = document.createElement("pre");
    pre.textContent = json(step.output);
    output.append(summary, pre);
    item.append(output);
  } else if (
    step.outputBytes !== null &&
    step.output === undefined &&
    step.status === "complete" &&
    step.outputBytes > 0
  ) {
    const note = document.createElement("p");
    note.className = "hint";
    note.textContent = `Output: ${step.outputBytes.toLocaleString("en-US")} bytes`;
    item.append(note);
  }
  return item;
}

function updateListRow(status) {
  const row = [...ui.instancesBody.children].find((tr) => tr.dataset.id === watched.id);
  const holder = row?.children[2];
  if (holder) holder.replaceChildren(badge(status));
}

async function act(action) {
  const id = watched.id;
  showError("");
  ui.actionResult.textContent = "";
  const button = actions[action];
  button.disabled = true;
  const result = await api("POST", `/instances/${id}/${action}`);
  if (id !== watched.id) return;
  if (watched.view) renderActions();
  if (!result) return;
  if (!result.ok) return showError(problemDetail(result, `${action[0].toUpperCase()}${action.slice(1)}`));
  ui.actionResult.textContent = `${labelOf(action)}: the instance is ${result.body.status}.`;
  // The socket brings the change too, unless it is down right now.
  apply({ type: "status", id, status: result.body.status });
  refreshSoon();
}

function labelOf(action) {
  return { pause: "Paused", resume: "Resumed", terminate: "Terminated", restart: "Restarted" }[action];
}

async function sendEvent() {
  const id = watched.id;
  const type = ui.eventType.value.trim();
  const text = ui.eventPayload.value.trim();
  ui.eventError.textContent = "";
  ui.actionResult.textContent = "";
  ui.eventType.removeAttribute("aria-invalid");
  ui.eventPayload.removeAttribute("aria-invalid");
  if (!EVENT_TYPE.test(type)) {
    ui.eventType.setAttribute("aria-invalid", "true");
    ui.eventError.textContent = type
      ? `"${type}" is not a valid event type: 1–64 letters, digits, '.', ':', '-' or '_'.`
      : "Enter the event's type (what the step waits for, e.g. approval).";
    return ui.eventType.focus();
  }
  const body = {};
  if (text) {
    try {
      body.payload = JSON.parse(text);
    } catch (error) {
      ui.eventPayload.setAttribute("aria-invalid", "true");
      ui.eventError.textContent = `The payload is not JSON: ${error.message}`;
      return ui.eventPayload.focus();
    }
  }
  ui.sendEvent.disabled = true;
  const result = await api("POST", `/instances/${id}/events/${type}`, body);
  if (id !== watched.id) return;
  if (watched.view) renderActions();
  if (!result) return;
  if (!result.ok) {
    ui.eventError.textContent = problemDetail(result, "Sending the event");
    return;
  }
  ui.actionResult.textContent = `Event "${type}" sent (event ${result.body.eventId}).`;
}

// ---- Small views ----------------------------------------------------------------------------

function badge(status) {
  const span = document.createElement("span");
  setBadge(span, status);
  return span;
}

function setBadge(element, status) {
  element.className = "badge";
  element.dataset.status = status;
  element.textContent = status;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function timeCell(iso) {
  const td = document.createElement("td");
  td.append(timeElement(iso));
  return td;
}

function timeElement(iso) {
  const time = document.createElement("time");
  time.dateTime = iso;
  const date = new Date(iso);
  const today = date.toDateString() === new Date().toDateString();
  time.textContent = today ? clock(iso) : date.toLocaleString([], { dateStyle: "medium", timeStyle: "medium" });
  time.title = date.toLocaleString();
  return time;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString([], {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
}

function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

function describeError(error) {
  return `${error.name}: ${error.message}`;
}

function json(value) {
  return JSON.stringify(value, null, 2) ?? "null";
}

function showError(text) {
  ui.error.textContent = text;
}

function setOffline(offline) {
  if (ui.offline.hidden === !offline) return;
  ui.offline.hidden = !offline;
  ui.dashboard.classList.toggle("stale", offline);
  if (offline && watched.id && !live.isOpen) setLive("offline");
}

// ---- Wiring ---------------------------------------------------------------------------------

for (const status of STATUSES) {
  ui.filterStatus.append(new Option(status, status));
  const heading = document.createElement("th");
  heading.scope = "col";
  heading.textContent = status;
  ui.countsHead.append(heading);
}

ui.signIn.addEventListener("submit", (event) => {
  event.preventDefault();
  signIn(ui.token.value.trim());
});
ui.signOut.addEventListener("click", () => signOut("Token forgotten. Enter it to open the dashboard again."));
ui.filters.addEventListener("submit", (event) => event.preventDefault());
for (const select of [ui.filterWorkflow, ui.filterStatus, ui.filterLimit]) {
  select.addEventListener("change", () => {
    cursors = [null];
    loadList();
  });
}
ui.refresh.addEventListener("click", refreshAll);
ui.older.addEventListener("click", () => {
  cursors.push(ui.older.dataset.next);
  loadList();
});
ui.newer.addEventListener("click", () => {
  cursors.pop();
  loadList();
});
ui.open.addEventListener("submit", (event) => {
  event.preventDefault();
  const id = ui.openId.value.trim();
  if (!INSTANCE_ID.test(id)) {
    return showFieldError(
      ui.openId,
      ui.openError,
      `"${id}" is not a valid instance id: 1–64 letters, digits, _ or -, not starting with -.`,
    );
  }
  watch(id);
});
for (const [action, button] of Object.entries(actions)) button.addEventListener("click", () => act(action));
ui.event.addEventListener("submit", (event) => {
  event.preventDefault();
  sendEvent();
});
// A tab brought back to the front or a network that returns shows fresh lists at once (the socket
// reconnects by itself).
whenBack(() => token && refreshAll());
addEventListener("offline", () => setOffline(true));

const initial = new URLSearchParams(location.search);
if (STATUSES.includes(initial.get("status"))) ui.filterStatus.value = initial.get("status");
// The workflow filter in the address is applied once the names are known (renderWorkflowOptions).
if (token) showDashboard();
else showSignIn();
