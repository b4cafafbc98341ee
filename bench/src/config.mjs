/**
 * What `pnpm bench` measures, declared as data. Adding an app is two entries:
 *
 * 1. a worker: its bench entry under src/workers/ (the app's Worker and its object class,
 *    subclassed with a `benchMeter()` RPC that returns the object's `Sql` meter) and the app's
 *    wrangler.jsonc, from which compatibility date, vars and Durable Object classes are read;
 * 2. one or more variants: which worker, which request, which object to meter.
 *
 * The no-op ceiling (variant `ceiling`) runs in every round; every other variant is reported as a
 * ratio to it, measured in the same round, and as a ratio to its own limit (`limit`): bare-write for
 * a write, bare-post for a POST that stores nothing. An app's Worker-side variant (its real Worker
 * in front of an object that does nothing) splits the app's CPU per request into Worker side and
 * object side (`workerSide`).
 */

/** Compatibility date of the bench's own fixture Worker; the apps use their wrangler.jsonc. */
export const FIXTURES_COMPATIBILITY_DATE = "2026-11-01";

/**
 * @typedef {object} WorkerSpec
 * @property {string} name Worker name inside Miniflare.
 * @property {string} entry Entry module, relative to bench/.
 * @property {string} [wrangler] The app's wrangler.jsonc, relative to bench/: the Worker runs with its settings.
 * @property {Record<string, string>} [durableObjects] Binding -> class name, for Workers without a wrangler.jsonc.
 * @property {string[]} [compatibilityFlags] For Workers without a wrangler.jsonc.
 * @property {Record<string, { name: string, className: string }>} [workflows] Binding -> Cloudflare
 *   Workflow (Miniflare's local emulation), for Workers without a wrangler.jsonc.
 * @property {Record<string, string>} [secrets] Values for the secrets the app requires (bench-only values).
 * @property {"info" | "warn" | "error"} [logLevel] The app's LOG_LEVEL (apps only; default "warn", see
 *   build.mjs).
 * @property {Record<string, unknown>} [vars] Vars set over the app's wrangler.jsonc ones (e.g. a
 *   feature the app ships off).
 * @property {{ file: string, replace: string, with: string }[]} [patches] Exact source text replaced
 *   while bundling (file relative to bench/); the build fails if the text is not found.
 */

/** The rate limiter's and the workflow app's bearer token inside the bench (a local, throwaway value). */
const BENCH_TOKEN = "bench-token";
/**
 * The rate limiter's POLICIES for the named-policy variants: the inline policies' `gcra`, by name
 * (a limit of 10^9, so every check is admitted), as a deployment configures its policies.
 */
const BENCH_POLICIES = { gcra: { algorithm: "gcra", limit: 1_000_000_000, period: 31_622_400 } };

/** @type {WorkerSpec[]} */
export const workers = [
  {
    name: "fixtures",
    entry: "src/workers/fixtures.ts",
    durableObjects: { NOOP: "Noop", BARE_WRITE: "BareWrite" },
  },
  {
    name: "alarms",
    entry: "src/workers/alarms.ts",
    durableObjects: { QUEUE_DRAIN: "QueueDrain", AGENT_DRAIN: "AgentDrain", ACTOR_DRAIN: "ActorDrain" },
    // The agents SDK imports node:async_hooks.
    compatibilityFlags: ["nodejs_compat"],
  },
  { name: "counter", entry: "src/workers/counter.ts", wrangler: "../apps/counter/wrangler.jsonc" },
  // The counter as deployed: LOG_LEVEL=info, its two lines per increment (request and operation).
  {
    name: "counter-logged",
    entry: "src/workers/counter.ts",
    wrangler: "../apps/counter/wrangler.jsonc",
    logLevel: "info",
  },
  { name: "counter-naive", entry: "src/workers/counter-naive.ts", wrangler: "../apps/counter/wrangler.jsonc" },
  // The app's Worker in front of an object that does nothing: the Worker side of the app's requests.
  { name: "counter-worker", entry: "src/workers/counter-worker.ts", wrangler: "../apps/counter/wrangler.jsonc" },
  {
    name: "rate-limiter",
    entry: "src/workers/rate-limiter.ts",
    wrangler: "../apps/rate-limiter/wrangler.jsonc",
    secrets: { RATE_LIMITER_TOKEN: BENCH_TOKEN },
  },
  {
    name: "rate-limiter-naive",
    entry: "src/workers/rate-limiter-naive.ts",
    wrangler: "../apps/rate-limiter/wrangler.jsonc",
    secrets: { RATE_LIMITER_TOKEN: BENCH_TOKEN },
  },
  // The same app with its denial cache on (DENIAL_CACHE, off in wrangler.jsonc): its own objects.
  {
    name: "rate-limiter-cached",
    entry: "src/workers/rate-limiter.ts",
    wrangler: "../apps/rate-limiter/wrangler.jsonc",
    secrets: { RATE_LIMITER_TOKEN: BENCH_TOKEN },
    vars: { DENIAL_CACHE: true },
  },
  {
    name: "rate-limiter-worker",
    entry: "src/workers/rate-limiter-worker.ts",
    wrangler: "../apps/rate-limiter/wrangler.jsonc",
    secrets: { RATE_LIMITER_TOKEN: BENCH_TOKEN },
  },
  // The same app and its Worker-side fixture with the check's policy configured (POLICIES) and named
  // in the request, instead of sent inline: their own objects.
  {
    name: "rate-limiter-named",
    entry: "src/workers/rate-limiter.ts",
    wrangler: "../apps/rate-limiter/wrangler.jsonc",
    secrets: { RATE_LIMITER_TOKEN: BENCH_TOKEN },
    vars: { POLICIES: BENCH_POLICIES },
  },
  {
    name: "rate-limiter-named-worker",
    entry: "src/workers/rate-limiter-worker.ts",
    wrangler: "../apps/rate-limiter/wrangler.jsonc",
    secrets: { RATE_LIMITER_TOKEN: BENCH_TOKEN },
    vars: { POLICIES: BENCH_POLICIES },
  },
  {
    name: "chat-room",
    entry: "src/workers/chat-room.ts",
    wrangler: "../apps/chat-room/wrangler.jsonc",
    // The room admits 100 people; the broadcast benchmark needs up to 1,000 in one room. Nothing
    // else changes.
    patches: [
      {
        file: "../apps/chat-room/src/protocol.ts",
        replace: "export const MAX_CONNECTIONS = 100;",
        with: "export const MAX_CONNECTIONS = 1_000;",
      },
    ],
  },
  { name: "party", entry: "src/workers/party.ts", durableObjects: { PARTY_ROOM: "PartyRoom" } },
  // Driven over RPC by src/workflow.mjs, and over HTTP with its token by the listing variants and
  // src/listing.mjs: its entry adds two bench-only workflows and a fill RPC on the index object.
  {
    name: "workflow",
    entry: "src/workers/workflow.ts",
    wrangler: "../apps/workflow/wrangler.jsonc",
    secrets: { WORKFLOW_TOKEN: BENCH_TOKEN },
  },
  // The same app again with its own objects: the listing's baseline, the same requests against an
  // index of 1,000 entries.
  {
    name: "workflow-small",
    entry: "src/workers/workflow.ts",
    wrangler: "../apps/workflow/wrangler.jsonc",
    secrets: { WORKFLOW_TOKEN: BENCH_TOKEN },
  },
  // Its peer: Cloudflare Workflows as Miniflare runs it locally, the same workflow.
  {
    name: "cf-workflow",
    entry: "src/workers/cf-workflow.ts",
    workflows: { STEPS: { name: "steps", className: "Steps" } },
  },
];

/**
 * @typedef {object} VariantSpec
 * @property {string} id Stable identifier used in results.
 * @property {string} app Which app the variant belongs to ("ceiling" for the ceiling).
 * @property {string} title What is measured, for the tables.
 * @property {string} worker Which WorkerSpec serves it.
 * @property {{ method: string, path: string, headers?: Record<string, string>, body?: string }} request
 *   The one request the load generator repeats.
 * @property {{ binding: string, name: string, source: string }} [meter] The object whose
 *   `benchMeter()` counts rows per operation, and where its numbers come from.
 * @property {"ceiling" | "bare-post" | "bare-write"} [limit] The fixture this variant is compared
 *   with beside the ceiling: bare-write for an operation that writes, bare-post for a POST whose
 *   object does nothing, the ceiling for a read. None for the ceiling itself.
 * @property {string} [workerSide] The variant serving the same request with the same Worker in
 *   front of an object that does nothing: its CPU per request over bare-post's is the Worker side,
 *   this variant's over it the object side.
 * @property {number} [status] The status every answer must have (default: any 2xx), e.g. 429 for
 *   a variant that measures refusals.
 * @property {{ method: string, path: string, headers?: Record<string, string>, body?: string }} [setup]
 *   One request sent before the warm-up (it must answer 2xx), e.g. to block the variant's key.
 * @property {{ binding: string, name: string, entries: number, quickEntries: number }} [fill] An object
 *   filled before the setup and the warm-up through its bench-only `benchFill(entries)` RPC (idempotent):
 *   `entries` entries in a full run, `quickEntries` with `--quick`, e.g. an index to list.
 */

const increment = {
  method: "POST",
  path: "/api/counters/bench/increment",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ by: 1 }),
};

/**
 * Rate limiter checks that are always admitted: a refused check writes nothing, which would
 * flatter the numbers. GCRA's state outlives the run (a year's period), so the key's purge alarm
 * never fires mid-measurement; the windows are the app's hourly and daily shapes.
 */
const checkRequest = (key, policies) => ({
  method: "POST",
  path: "/api/check",
  headers: { "content-type": "application/json", authorization: `Bearer ${BENCH_TOKEN}` },
  body: JSON.stringify({ key, policies }),
});
const LIMIT = 1_000_000_000;
const gcra = { name: "gcra", algorithm: "gcra", limit: LIMIT, period: 31_622_400 };
const hourly = { name: "hourly", algorithm: "sliding-window", limit: LIMIT, period: 3600 };
const daily = { name: "daily", algorithm: "fixed-window", limit: LIMIT, period: 86_400 };
/** A key blocked by an override (limit 0 for a day): every check of it is refused with a day's wait. */
const blockKey = (key) => ({
  method: "PUT",
  path: `/api/keys/${key}/overrides`,
  headers: { "content-type": "application/json", authorization: `Bearer ${BENCH_TOKEN}` },
  body: JSON.stringify({ gcra: { limit: 0, period: 86_400 } }),
});
/** The naive limiter's window: one minute, the common case (its array holds every request in it). */
const perMinute = { name: "per-minute", algorithm: "fixed-window", limit: LIMIT, period: 60 };

/**
 * Listing at scale (src/listing.mjs and the `workflow-list` variants): the index of one workflow,
 * `bench-list` (bench-only, never started), filled with entries straight into its SQLite in the
 * `workflow` Worker, and the same index at 1,000 entries in `workflow-small`: the same requests
 * against both, so that what grows with the number of entries shows. Pages of `limit`; the filtered
 * ones ask for `status` (every 7th entry).
 */
export const listing = {
  workflow: "bench-list",
  binding: "WORKFLOW_INDEX",
  limit: 50,
  status: "errored",
  headers: { authorization: `Bearer ${BENCH_TOKEN}` },
  sizes: [
    { worker: "workflow", entries: 100_000, quickEntries: 10_000 },
    { worker: "workflow-small", entries: 1_000, quickEntries: 1_000 },
  ],
};
/** The first page of the listed workflow's instances, newest first, as the dashboard asks for it. */
const firstPage = {
  method: "GET",
  path: `/api/instances?workflow=${listing.workflow}&limit=${listing.limit}`,
  headers: listing.headers,
};
const listingMeter = {
  binding: listing.binding,
  name: listing.workflow,
  source: "the index object's Sql meter (cursor rowsRead/rowsWritten), exact",
};
const fillOf = ({ entries, quickEntries }) => ({
  binding: listing.binding,
  name: listing.workflow,
  entries,
  quickEntries,
});

/** @type {VariantSpec[]} */
export const variants = [
  {
    id: "ceiling",
    app: "ceiling",
    title: "No-op Durable Object RPC (ceiling)",
    worker: "fixtures",
    request: { method: "GET", path: "/noop" },
  },
  {
    id: "bare-post",
    app: "limit",
    title: "bare Worker: JSON POST body read and passed to a no-op Durable Object RPC (POST limit)",
    worker: "fixtures",
    request: { ...increment, path: "/post" },
    limit: "ceiling",
    workerSide: "bare-post",
  },
  {
    id: "bare-write",
    app: "limit",
    title: "bare-post whose object runs one UPDATE … RETURNING on one row (write limit)",
    worker: "fixtures",
    request: { ...increment, path: "/write" },
    meter: { binding: "BARE_WRITE", name: "x", source: "cursor rowsRead/rowsWritten counted by the object, exact" },
    limit: "bare-post",
    workerSide: "bare-post",
  },
  {
    id: "counter",
    app: "counter",
    title: "POST /api/counters/:name/increment, one name",
    worker: "counter",
    request: increment,
    meter: { binding: "COUNTER", name: "bench", source: "Sql meter (cursor rowsRead/rowsWritten), exact" },
    limit: "bare-write",
    workerSide: "counter-worker",
  },
  {
    id: "counter-logged",
    app: "counter",
    title: "the same increment with LOG_LEVEL=info, as deployed: a request line and an operation line each",
    worker: "counter-logged",
    request: increment,
    meter: { binding: "COUNTER", name: "bench", source: "Sql meter (cursor rowsRead/rowsWritten), exact" },
    limit: "bare-write",
    workerSide: "counter-worker",
  },
  {
    id: "counter-worker",
    app: "counter",
    title: "same route, the app's Worker in front of an object that does nothing (Worker side)",
    worker: "counter-worker",
    request: increment,
    limit: "bare-post",
    workerSide: "counter-worker",
  },
  {
    id: "counter-naive-kv",
    app: "counter",
    title: "same route, object doing storage.get then storage.put (naive baseline)",
    worker: "counter-naive",
    request: increment,
    meter: {
      binding: "COUNTER",
      name: "bench",
      source: "storage API calls counted by the object; billed as 1 row per key read or written (no runtime meter)",
    },
    limit: "bare-write",
    workerSide: "counter-worker",
  },
  {
    id: "rate-limiter",
    app: "rate-limiter",
    title: "POST /api/check, one GCRA policy, one key",
    worker: "rate-limiter",
    request: checkRequest("bench-1", [gcra]),
    meter: { binding: "RATE_LIMITER", name: "bench-1", source: "Sql meter (cursor rowsRead/rowsWritten), exact" },
    limit: "bare-write",
    workerSide: "rate-limiter-worker",
  },
  {
    id: "rate-limiter-worker",
    app: "rate-limiter",
    title: "same check, the app's Worker in front of an object that stores nothing (Worker side)",
    worker: "rate-limiter-worker",
    request: checkRequest("bench-1", [gcra]),
    limit: "bare-post",
    workerSide: "rate-limiter-worker",
  },
  {
    id: "rate-limiter-named",
    app: "rate-limiter",
    title: "POST /api/check naming one configured GCRA policy (POLICIES), one key",
    worker: "rate-limiter-named",
    request: checkRequest("bench-named", ["gcra"]),
    meter: { binding: "RATE_LIMITER", name: "bench-named", source: "Sql meter (cursor rowsRead/rowsWritten), exact" },
    limit: "bare-write",
    workerSide: "rate-limiter-named-worker",
  },
  {
    id: "rate-limiter-named-worker",
    app: "rate-limiter",
    title: "same named-policy check, the app's Worker in front of an object that stores nothing (Worker side)",
    worker: "rate-limiter-named-worker",
    request: checkRequest("bench-named", ["gcra"]),
    limit: "bare-post",
    workerSide: "rate-limiter-named-worker",
  },
  {
    id: "rate-limiter-3",
    app: "rate-limiter",
    title: "POST /api/check, three policies (GCRA, sliding hour, fixed day), one key",
    worker: "rate-limiter",
    request: checkRequest("bench-3", [gcra, hourly, daily]),
    meter: { binding: "RATE_LIMITER", name: "bench-3", source: "Sql meter (cursor rowsRead/rowsWritten), exact" },
    limit: "bare-write",
    workerSide: "rate-limiter-3-worker",
  },
  {
    id: "rate-limiter-3-worker",
    app: "rate-limiter",
    title: "same three-policy check, the app's Worker in front of an object that stores nothing (Worker side)",
    worker: "rate-limiter-worker",
    request: checkRequest("bench-3", [gcra, hourly, daily]),
    limit: "bare-post",
    workerSide: "rate-limiter-3-worker",
  },
  {
    id: "rate-limiter-denied",
    app: "rate-limiter",
    title: "POST /api/check refused (429): a key blocked by an override, every check asks its object",
    worker: "rate-limiter",
    setup: blockKey("bench-denied"),
    request: checkRequest("bench-denied", [gcra]),
    status: 429,
    meter: { binding: "RATE_LIMITER", name: "bench-denied", source: "Sql meter (cursor rowsRead/rowsWritten), exact" },
    limit: "bare-post",
  },
  {
    id: "rate-limiter-denied-cached",
    app: "rate-limiter",
    title: "the same refused check with DENIAL_CACHE on: answered from the isolate's memory",
    worker: "rate-limiter-cached",
    setup: blockKey("bench-denied"),
    request: checkRequest("bench-denied", [gcra]),
    status: 429,
    meter: { binding: "RATE_LIMITER", name: "bench-denied", source: "Sql meter (cursor rowsRead/rowsWritten), exact" },
    limit: "bare-post",
  },
  {
    id: "rate-limiter-naive",
    app: "rate-limiter",
    title: "same route, object keeping a timestamp array of the last minute in one value (naive baseline)",
    worker: "rate-limiter-naive",
    request: checkRequest("bench-naive", [perMinute]),
    meter: {
      binding: "RATE_LIMITER",
      name: "bench-naive",
      source:
        "storage API calls counted by the object; billed as 1 row per key read or written (no runtime meter), however long the array",
    },
    limit: "bare-write",
    workerSide: "rate-limiter-worker",
  },
  {
    id: "workflow-list",
    app: "workflow",
    title: `GET /api/instances?workflow=…&limit=${listing.limit} with the bearer token: the first page of an index of 100,000 entries (--quick: 10,000)`,
    worker: listing.sizes[0].worker,
    fill: fillOf(listing.sizes[0]),
    request: firstPage,
    meter: listingMeter,
    limit: "ceiling",
  },
  {
    id: "workflow-list-small",
    app: "workflow",
    title: "the same first page of an index of 1,000 entries (baseline: what grows with the entries)",
    worker: listing.sizes[1].worker,
    fill: fillOf(listing.sizes[1]),
    request: firstPage,
    meter: listingMeter,
    limit: "ceiling",
  },
];
