/**
 * The listing benchmark: what a page of the workflow app's instance list costs when one workflow's
 * index holds N entries (100,000; `--quick`: 10,000), against the same requests when it holds
 * 1,000. Both indexes are filled straight into their SQLite (`WorkflowIndex.benchFill()` in
 * src/workers/workflow.ts, as the app's test/index-scale.test.ts does), each in its own copy of the
 * app (the `workflow` and `workflow-small` Workers), so that the requests are the same byte for
 * byte and only the number of entries differs.
 *
 * Every request goes through the app's Worker over HTTP with its bearer token, as the dashboard
 * sends it: the first page, a page halfway down the list (after a cursor built the way the app
 * builds `next`, checked against the `next` the app answers), a page filtered by status, the
 * filtered page halfway down, and `GET /api/workflows`. Latency is timed in the harness around
 * each request (sequential, one at a time; the no-op ceiling's `GET /noop` timed the same way is the
 * floor); rows are exact, from the index objects' Sql meters. Requests per second under load come
 * from the `workflow-list` HTTP variants (src/config.mjs).
 */
import { listing } from "./config.mjs";
import { summarize } from "./stats.mjs";

/** Each index filled in this run, by Worker: what `benchFill()` answered and how long it took. */
const filled = new Map();

/**
 * Fills the index `name` of `worker` up to `entries` entries, once per run (later calls answer the
 * first one's result): the HTTP variants need it before their warm-up, the benchmark below too.
 *
 * @param {import("miniflare").Miniflare} miniflare
 * @param {string} worker
 * @param {{ binding: string, name: string }} target
 * @param {number} entries
 */
export async function fillIndex(miniflare, worker, { binding, name }, entries) {
  const key = `${worker}/${binding}/${name}`;
  if (!filled.has(key)) {
    const namespace = await miniflare.getDurableObjectNamespace(binding, worker);
    const stub = namespace.get(namespace.idFromName(name));
    const started = performance.now();
    const result = await stub.benchFill(entries);
    filled.set(key, { ...result, ms: performance.now() - started });
  }
  const result = filled.get(key);
  if (result.entries !== entries) throw new Error(`${key}: filled ${result.entries} entries, not ${entries}`);
  return result;
}

/** The app's cursor (apps/workflow/src/protocol.ts `encodeCursor`): base64url of `[createdAt, id]`. */
const encodeCursor = ({ createdAt, id }) => Buffer.from(JSON.stringify([createdAt, id])).toString("base64url");

/**
 * @param {{ miniflare: import("miniflare").Miniflare, urls: Record<string, string>,
 *   sizes: { worker: string, entries: number }[], rounds: number, requests: number, metered: number,
 *   progress: (message: string) => void, failures: string[] }} options
 */
export async function benchListing({ miniflare, urls, sizes, rounds, requests, metered, progress, failures }) {
  const { workflow, binding, limit, status, headers } = listing;
  const fills = [];
  for (const size of sizes) {
    progress(`listing: ${size.worker}'s index, ${size.entries.toLocaleString("en-US")} entries`);
    fills.push(await fillIndex(miniflare, size.worker, { binding, name: workflow }, size.entries));
  }

  /** Entry `i` of an index as benchFill() laid it out. */
  const entryAt = (layout, i) => ({
    createdAt: layout.createdAt + i * layout.spacingMs,
    id: `i-${String(i).padStart(layout.idDigits, "0")}`,
  });
  const list = (query) => `/api/instances?workflow=${workflow}&${query}limit=${limit}`;
  /** The requests, per index: each index's cursors point halfway down its own list. */
  const pagesOf = (entries, layout) => {
    const middle = Math.floor(entries / 2);
    // The filtered deep page starts after an entry of that status, as a filtered page ends.
    const cycle = layout.statuses.length;
    const middleOfStatus = middle - ((middle - layout.statuses.indexOf(status) + cycle) % cycle);
    return [
      {
        id: "first",
        title: `first page of ${limit}, newest first`,
        path: list(""),
        firstId: entryAt(layout, entries - 1).id,
      },
      {
        id: "deep",
        title: "a page halfway down (after a cursor)",
        path: list(`cursor=${encodeCursor(entryAt(layout, middle))}&`),
        firstId: entryAt(layout, middle - 1).id,
      },
      { id: "status", title: `first page of one status (status=${status})`, path: list(`status=${status}&`) },
      {
        id: "status-deep",
        title: `a page of status=${status} halfway down (after a cursor)`,
        path: list(`status=${status}&cursor=${encodeCursor(entryAt(layout, middleOfStatus))}&`),
        firstId: entryAt(layout, middleOfStatus - cycle).id,
      },
      { id: "counts", title: "GET /api/workflows: counts per status of every workflow", path: "/api/workflows" },
    ];
  };
  const targets = sizes.map((size, k) => ({
    ...size,
    base: urls[size.worker],
    pages: pagesOf(size.entries, fills[k].layout),
  }));

  // Every answer checked once: shapes, order, the filter, and that the app's own `next` is the
  // cursor this harness builds (so the deep pages ask what a client following `next` would).
  const workflowNames = new Map();
  for (const target of targets) {
    for (const page of target.pages) {
      const response = await fetch(new URL(page.path, target.base), { headers });
      const body = await response.json().catch(() => null);
      const wrong = (why) => failures.push(`listing ${target.worker} ${page.id}: ${why}`);
      if (!response.ok) {
        wrong(`HTTP ${response.status} ${JSON.stringify(body)}`);
        continue;
      }
      if (page.id === "counts") {
        const listed = body.workflows.find((entry) => entry.name === workflow);
        const total = listed ? Object.values(listed.counts).reduce((a, b) => a + b, 0) : 0;
        if (total !== target.entries) wrong(`counts add up to ${total}, not ${target.entries}`);
        workflowNames.set(
          target.worker,
          body.workflows.map((entry) => entry.name),
        );
        continue;
      }
      const { instances, next } = body;
      if (instances.length !== limit) wrong(`${instances.length} instances, not ${limit}`);
      if (page.firstId && instances[0]?.id !== page.firstId)
        wrong(`starts at ${instances[0]?.id}, not ${page.firstId}`);
      if (page.id.startsWith("status") && instances.some((instance) => instance.status !== status))
        wrong(`an instance not ${status}`);
      const last = instances.at(-1);
      if (last && next !== encodeCursor({ createdAt: Date.parse(last.createdAt), id: last.id }))
        wrong(`next ${next} is not the cursor of its last instance`);
    }
  }
  if (failures.length) return undefined;

  const namespaces = new Map(
    await Promise.all(
      targets.map(async ({ worker }) => [worker, await miniflare.getDurableObjectNamespace(binding, worker)]),
    ),
  );
  /** The index objects a request asks: the listed workflow's, or every registered one's for the counts. */
  const indexesOf = (target, page) =>
    (page.id === "counts" ? workflowNames.get(target.worker) : [workflow]).map((name) => {
      const namespace = namespaces.get(target.worker);
      return namespace.get(namespace.idFromName(name));
    });
  const timedRequest = async (url) => {
    const started = performance.now();
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    const ms = performance.now() - started;
    if (!response.ok) throw new Error(`listing: ${url.pathname}${url.search}: HTTP ${response.status}`);
    return ms;
  };
  const medianOf = async (url, n) => {
    const times = [];
    for (let i = 0; i < n; i++) times.push(await timedRequest(url));
    return summarize(times).median;
  };

  // The floor: the no-op ceiling's request timed the same way, in every round.
  const floorUrl = new URL("/noop", urls.fixtures);
  const jobs = [
    { key: "floor", url: floorUrl },
    ...targets.flatMap((target) =>
      target.pages.map((page) => ({ key: `${target.worker}/${page.id}`, url: new URL(page.path, target.base) })),
    ),
  ];
  // Warm-up: JIT, connections, the pages of both indexes in SQLite's cache.
  for (const job of jobs) await medianOf(job.url, Math.min(requests, 10));
  const byKey = new Map(jobs.map((job) => [job.key, []]));
  for (let round = 0; round < rounds; round++) {
    progress(`listing ${round + 1}/${rounds}: ${jobs.length} requests × ${requests}, one at a time`);
    // Rotated like the HTTP rounds, so that no request always goes first.
    for (let offset = 0; offset < jobs.length; offset++) {
      const job = jobs[(round + offset) % jobs.length];
      byKey.get(job.key).push(await medianOf(job.url, requests));
    }
  }

  /** Rows per request: the meters of every index object it asks, before and after `metered` requests. */
  const rowsOf = async (target, page) => {
    const stubs = indexesOf(target, page);
    const read = () => Promise.all(stubs.map((stub) => stub.benchMeter()));
    const before = await read();
    const url = new URL(page.path, target.base);
    for (let i = 0; i < metered; i++) await timedRequest(url);
    const after = await read();
    const spent = (field) => after.reduce((sum, meter, k) => sum + meter[field] - before[k][field], 0) / metered;
    return {
      indexObjects: stubs.length,
      statements: spent("statements"),
      rowsRead: spent("rowsRead"),
      rowsWritten: spent("rowsWritten"),
    };
  };

  const [large, small] = targets;
  const pages = [];
  for (const [k, page] of large.pages.entries()) {
    progress(`listing: counting rows of ${page.id} × ${metered}`);
    const perSize = [];
    for (const target of targets) {
      const times = byKey.get(`${target.worker}/${page.id}`);
      perSize.push({
        worker: target.worker,
        entries: target.entries,
        path: target.pages[k].path,
        ms: summarize(times),
        rounds: times,
        rows: await rowsOf(target, target.pages[k]),
      });
    }
    const [atLarge, atSmall] = perSize;
    pages.push({
      id: page.id,
      title: page.title,
      sizes: perSize,
      // Per-round pairs, like the HTTP ratios: the same request against N entries over against the baseline's.
      largeOverSmall: summarize(atLarge.rounds.map((ms, round) => ms / atSmall.rounds[round])),
    });
  }
  return {
    workflow,
    limit,
    rounds,
    requestsPerRound: requests,
    metered,
    entries: { large: large.entries, small: small.entries },
    fill: fills.map((fill, k) => ({
      worker: targets[k].worker,
      entries: fill.entries,
      ms: fill.ms,
      databaseBytes: fill.databaseBytes,
    })),
    floorMs: summarize(byKey.get("floor")),
    pages,
    source: "the index objects' Sql meters (cursor rowsRead/rowsWritten), exact",
  };
}
