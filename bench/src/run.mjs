/**
 * `pnpm bench [--quick] [--rounds N] [--duration S] [--connections C] [--only id,id]`
 *
 * Starts one workerd through Miniflare with every bench Worker in it, then runs rounds: in each
 * round every variant (the no-op ceiling included) gets the same bounded burst of HTTP load from
 * a separate autocannon process, in an order rotated per round. Each variant's throughput and
 * latency are divided by the ceiling's from the same round; the report gives the median of those
 * ratios with min and max. workerd's CPU time (from /proc) is read around each measured burst, for
 * CPU µs per request; each variant is also compared with its limit (bare-post, bare-write) and
 * split into Worker side and object side. Rows read and written per operation are counted exactly,
 * afterwards, over a fixed number of requests. Writes results/latest.{json,md,svg} (quick: results/quick.*)
 * and exits 1 if any request failed.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { benchAlarms } from "./alarms.mjs";
import { workerOptions } from "./build.mjs";
import { benchChat } from "./chat.mjs";
import { listing, variants as allVariants, workers } from "./config.mjs";
import { workerdCpu } from "./cpu.mjs";
import { benchListing, fillIndex } from "./listing.mjs";
import { markdownReport, svgChart, updateReadme } from "./report.mjs";
import { summarize } from "./stats.mjs";
import { benchWorkflow } from "./workflow.mjs";

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    connections: { type: "string" },
    only: { type: "string" },
  },
});
/**
 * `--only counter,rate-limiter`: those HTTP variants and the limits they are compared with (the
 * ceiling always), nothing else (but the listing benchmark when a `workflow-list` variant is named);
 * for trying a change. Writes results/only.*, never latest.*.
 */
const only = args.only?.split(",").map((id) => id.trim());
const variants = only ? withLimits(only) : allVariants;
const quick = args.quick;
const plan = {
  rounds: Number(args.rounds ?? (quick ? 2 : 10)),
  durationSeconds: Number(args.duration ?? (quick ? 1 : 3)),
  // Quick: 200 requests sent one at a time from this process instead of a burst, which would cost
  // a load process per variant (about a second each, with eleven variants).
  warmupSeconds: quick ? 0 : 2,
  warmupRequests: quick ? 200 : 0,
  connections: Number(args.connections ?? 10),
  meteredRequests: quick ? 20 : 200,
  alarmTasks: quick ? 1000 : 10_000,
  alarmRepeats: quick ? 1 : 3,
  chatSockets: quick ? 100 : 1000,
  // The chat room lets one connection send 20 messages at once (then 2 per second).
  chatMessages: 20,
  chatRounds: quick ? 3 : 10,
  workflowSteps: quick ? [20] : [100, 10],
  workflowRepeats: quick ? 1 : 5,
  // Listing: the indexes' sizes (src/config.mjs `listing`), then sequential requests per round.
  listingEntries: listing.sizes.map((size) => (quick ? size.quickEntries : size.entries)),
  listingRounds: quick ? 2 : 10,
  listingRequests: quick ? 10 : 20,
};
if (plan.rounds < 1 || plan.durationSeconds < 1 || plan.connections < 1)
  throw new Error(`bad plan ${JSON.stringify(plan)}`);
const output = path.join(benchDir, "results", only ? "only" : quick ? "quick" : "latest");

const started = Date.now();
const failures = [];
let miniflare;
let tmp;
/** @type {import("./cpu.mjs").CpuReader | undefined} */
let cpu;
/** @type {import("node:child_process").ChildProcess | undefined} */
let loadProcess;
/** @type {import("node:child_process").ChildProcess | undefined} */
let chatProcess;

process.on("SIGINT", () => void shutdown(130));
process.on("SIGTERM", () => void shutdown(143));

try {
  await main();
} catch (error) {
  failures.push(`harness: ${error?.stack ?? error}`);
}
await shutdown(failures.length ? 1 : 0);

async function main() {
  tmp = await mkdtemp(path.join(memoryBackedTmp(), "durable-patterns-bench-"));
  progress("bundling workers");
  const workerOpts = await Promise.all(workers.map((spec) => workerOptions(spec, benchDir, tmp)));

  progress("starting workerd");
  // Miniflare 5 still accepts the v4 option shape through this converter, which also keeps the
  // dev registry off: nothing outside this process can find or call the bench's Workers.
  miniflare = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      workers: workerOpts,
      // SQLite files on disk in a fresh directory, removed at the end: storage behaves as in
      // `wrangler dev`, and no run sees another run's data.
      resourcePersistencePath: path.join(tmp, "state"),
      logRequests: false,
      telemetry: { enabled: false },
      // The apps' info lines (one per request and per operation: over a million in a full run) are
      // dropped here, where printing them would load the machine the load generator shares;
      // warnings and errors still show. workerd still writes every line: that cost is measured.
      handleStructuredLogs: ({ level, message }) => {
        if (level === "warn" || level === "error") process.stderr.write(`${message}\n`);
      },
    }),
  );
  await miniflare.ready;
  const urls = Object.fromEntries(
    await Promise.all(workers.map(async ({ name }) => [name, await miniflare.unsafeGetDirectURL(name)])),
  );

  // The one workerd this Miniflare started (every Worker runs in it); no other process is counted.
  cpu = workerdCpu();
  const load = (variant, seconds) => runLoad(new URL(variant.request.path, urls[variant.worker]), variant, seconds);
  /** A measured burst: the load's summary plus workerd's CPU time over the same window. */
  const measure = async (variant, seconds) => {
    const before = cpu?.ticks();
    const result = await load(variant, seconds);
    if (cpu && before !== undefined) {
      const ticks = cpu.ticks() - before;
      const cpuMs = (ticks / cpu.clockTicks) * 1000;
      result.workerdCpu = { ticks, ms: cpuMs, usPerRequest: result.requests ? (cpuMs * 1000) / result.requests : 0 };
    }
    return result;
  };

  // Fill: what a variant reads must be in its object before anything else (e.g. an index to list).
  for (const variant of variants) {
    if (!variant.fill) continue;
    const entries = quick ? variant.fill.quickEntries : variant.fill.entries;
    progress(`fill ${variant.id}: ${entries.toLocaleString("en-US")} entries`);
    await fillIndex(miniflare, variant.worker, variant.fill, entries);
  }
  // Setup: what a variant needs in place before its first request (e.g. a blocked key).
  for (const variant of variants) {
    if (!variant.setup) continue;
    const { method, path: setupPath, headers, body } = variant.setup;
    const response = await fetch(new URL(setupPath, urls[variant.worker]), { method, headers, body });
    await response.arrayBuffer();
    if (!response.ok) failures.push(`${variant.id} setup: HTTP ${response.status}`);
  }
  // Warm-up: creates every object and JIT-compiles every path before anything is measured.
  for (const variant of variants) {
    progress(`warm-up ${variant.id}`);
    const url = new URL(variant.request.path, urls[variant.worker]);
    if (plan.warmupRequests) await sendAll(variant, url, plan.warmupRequests, "warm-up");
    else check(variant, "warm-up", await load(variant, plan.warmupSeconds));
  }
  // A variant that fails here would only fail again in every round.
  if (failures.length) return;

  const rounds = variants.map(() => []);
  const steps = plan.rounds * variants.length;
  for (let round = 0; round < plan.rounds; round++) {
    // Rotating the order spreads slow drift (thermal, neighbours) evenly over the variants.
    for (let offset = 0; offset < variants.length; offset++) {
      const index = (round + offset) % variants.length;
      const variant = variants[index];
      const step = round * variants.length + offset + 1;
      progress(`[${step}/${steps}] round ${round + 1}/${plan.rounds} ${variant.id} (${plan.durationSeconds} s)`);
      const result = await measure(variant, plan.durationSeconds);
      check(variant, `round ${round + 1}`, result);
      rounds[index][round] = result;
    }
  }

  const rows = [];
  for (const variant of variants) {
    progress(`counting rows: ${variant.id} × ${plan.meteredRequests}`);
    rows.push(await countRows(variant, new URL(variant.request.path, urls[variant.worker])));
  }

  // The listing benchmark goes with its HTTP variants: also in an --only run that names one.
  const listingRun = () =>
    benchListing({
      miniflare,
      urls,
      sizes: listing.sizes.map((size, k) => ({ worker: size.worker, entries: plan.listingEntries[k] })),
      rounds: plan.listingRounds,
      requests: plan.listingRequests,
      metered: plan.meteredRequests,
      progress,
      failures,
    });

  if (only) {
    const listed = variants.some((variant) => variant.fill) ? await listingRun() : undefined;
    const results = { ...summarizeRun(rounds, rows), ...(listed ? { listing: listed } : {}) };
    await mkdir(path.dirname(output), { recursive: true });
    await writeFile(`${output}.json`, JSON.stringify(results, null, 2) + "\n");
    await writeFile(`${output}.md`, markdownReport(results));
    progress(`done in ${Math.round((Date.now() - started) / 1000)} s`, true);
    process.stdout.write(`\n${markdownReport(results)}\nwrote ${path.relative(process.cwd(), output)}.{json,md}\n`);
    return;
  }

  const alarms = await benchAlarms({
    miniflare,
    tasks: plan.alarmTasks,
    repeats: plan.alarmRepeats,
    progress,
    failures,
  });

  const chat = await benchChat({
    miniflare,
    urls,
    sockets: plan.chatSockets,
    messages: plan.chatMessages,
    rounds: plan.chatRounds,
    progress,
    failures,
    onChild: (child) => (chatProcess = child),
  });

  const workflow = await benchWorkflow({
    miniflare,
    urls,
    sizes: plan.workflowSteps,
    repeats: plan.workflowRepeats,
    progress,
    failures,
  });

  const listed = await listingRun();

  const results = { ...summarizeRun(rounds, rows), alarms, chat, workflow, listing: listed };
  await mkdir(path.dirname(output), { recursive: true });
  await writeFile(`${output}.json`, JSON.stringify(results, null, 2) + "\n");
  await writeFile(`${output}.md`, markdownReport(results));
  await writeFile(`${output}.svg`, svgChart(results));
  if (!quick && results.ok) await updateReadme(path.join(benchDir, "README.md"), results);
  progress(`done in ${Math.round((Date.now() - started) / 1000)} s`, true);
  process.stdout.write(`\n${markdownReport(results)}\nwrote ${path.relative(process.cwd(), output)}.{json,md,svg}\n`);
}

/** The variants named, every limit they are measured against (transitively) and the ceiling, in config order. */
function withLimits(ids) {
  const unknown = ids.filter((id) => !allVariants.some((variant) => variant.id === id));
  if (unknown.length) throw new Error(`--only: no variant ${unknown.join(", ")}`);
  const wanted = new Set(["ceiling", ...ids]);
  for (let grew = true; grew;) {
    grew = false;
    for (const variant of allVariants) {
      for (const id of [variant.limit, variant.workerSide]) {
        if (wanted.has(variant.id) && id && !wanted.has(id)) {
          wanted.add(id);
          grew = true;
        }
      }
    }
  }
  return allVariants.filter((variant) => wanted.has(variant.id));
}

/** A tmpfs directory when there is one (Linux), else the usual temporary directory. */
function memoryBackedTmp() {
  return existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
}

/** Runs one bounded burst of load in a child process and returns its summary. */
function runLoad(url, variant, seconds) {
  const job = {
    url: url.href,
    ...variant.request,
    status: variant.status,
    duration: seconds,
    connections: plan.connections,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(benchDir, "src", "load.mjs"), JSON.stringify(job)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    loadProcess = child;
    // autocannon stops itself after `seconds`; this only guards against a hang.
    const guard = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
    let stdout = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      loadProcess = undefined;
      if (code === 0) resolve(JSON.parse(stdout));
      else reject(new Error(`load generator for ${variant.id} exited with ${signal ?? code}`));
    });
  });
}

function check(variant, phase, result) {
  if (result.non2xx || result.errors || result.timeouts || !result.ok) {
    failures.push(
      `${variant.id} ${phase}: ${result.ok} ok, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts (status codes ${JSON.stringify(result.statusCodes)})`,
    );
  }
}

/**
 * Rows per operation: the object's meter before and after a fixed number of requests, sent one
 * at a time so that nothing else touches the object in between. Exact, unlike anything timed.
 */
async function countRows(variant, url) {
  const n = plan.meteredRequests;
  if (!variant.meter) {
    await sendAll(variant, url, n);
    return { id: variant.id, requests: n, rowsReadPerOp: 0, rowsWrittenPerOp: 0, source: "no storage calls" };
  }
  const namespace = await miniflare.getDurableObjectNamespace(variant.meter.binding, variant.worker);
  const stub = namespace.get(namespace.idFromName(variant.meter.name));
  const before = await stub.benchMeter();
  await sendAll(variant, url, n);
  const after = await stub.benchMeter();
  return {
    id: variant.id,
    requests: n,
    statementsPerOp: (after.statements - before.statements) / n,
    rowsReadPerOp: (after.rowsRead - before.rowsRead) / n,
    rowsWrittenPerOp: (after.rowsWritten - before.rowsWritten) / n,
    // What a naive object stores (e.g. a timestamp array's length), when it says.
    ...(after.storedEntries === undefined ? {} : { storedEntries: after.storedEntries }),
    source: variant.meter.source,
  };
}

/** Sends `n` requests one after another; records how many failed, and the first status. */
async function sendAll(variant, url, n, phase = "rows count") {
  const { method, headers, body } = variant.request;
  const failed = [];
  for (let i = 0; i < n; i++) {
    const response = await fetch(url, { method, headers, body });
    await response.arrayBuffer();
    if (variant.status ? response.status !== variant.status : !response.ok) failed.push(response.status);
  }
  if (failed.length) failures.push(`${variant.id} ${phase}: ${failed.length}/${n} failed, first HTTP ${failed[0]}`);
}

function summarizeRun(rounds, rows) {
  const roundsOf = (id) => {
    const index = variants.findIndex((variant) => variant.id === id);
    if (index < 0) throw new Error(`config: no variant "${id}"`);
    return rounds[index];
  };
  const ceiling = roundsOf("ceiling");
  const ratio = (results, pick, base = ceiling) =>
    summarize(results.map((result, round) => pick(result) / pick(base[round])));
  const cpuUs = (result) => result.workerdCpu.usPerRequest;
  /** Per-round differences of CPU µs per request (paired, like the ratios). */
  const cpuOver = (results, base) => summarize(results.map((result, round) => cpuUs(result) - cpuUs(base[round])));
  const barePost = variants.some((variant) => variant.id === "bare-post") ? roundsOf("bare-post") : undefined;
  return {
    date: new Date(started).toISOString(),
    mode: quick ? "quick" : "full",
    wallSeconds: Math.round((Date.now() - started) / 1000),
    machine: {
      cpu: os.cpus()[0]?.model ?? "unknown",
      cores: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      platform: `${os.platform()} ${os.release()}`,
    },
    versions: { node: process.version, ...runtimeVersions() },
    plan: { ...plan, loadGenerator: "autocannon in a child process, pipelining 1, loopback" },
    cpu: cpu
      ? {
          source:
            "utime + stime of the harness's one workerd child process (all threads), /proc/<pid>/stat, read before and after each measured burst",
          clockTicksPerSecond: cpu.clockTicks,
        }
      : null,
    ok: failures.length === 0,
    failures,
    variants: variants.map((variant, index) => {
      const results = rounds[index];
      return {
        id: variant.id,
        app: variant.app,
        title: variant.title,
        request: { method: variant.request.method, path: variant.request.path },
        rps: summarize(results.map((result) => result.rps)),
        p50Ms: summarize(results.map((result) => result.latencyMs.p50)),
        p99Ms: summarize(results.map((result) => result.latencyMs.p99)),
        vsCeiling: {
          throughput: ratio(results, (result) => result.rps),
          p50: ratio(results, (result) => result.latencyMs.p50),
          p99: ratio(results, (result) => result.latencyMs.p99),
        },
        cpuUsPerRequest: cpu ? summarize(results.map(cpuUs)) : null,
        limit: variant.limit ?? null,
        vsLimit: variant.limit
          ? {
              throughput: ratio(results, (result) => result.rps, roundsOf(variant.limit)),
              cpu: cpu ? ratio(results, cpuUs, roundsOf(variant.limit)) : null,
            }
          : null,
        workerSide: variant.workerSide ?? null,
        // CPU µs per request: the Worker side over bare-post (router, validation, auth, headers),
        // and this variant over its Worker side (what the object does). A variant that is its own
        // Worker side has no object side; bare-post's Worker is no overhead over itself.
        split:
          cpu && variant.workerSide && barePost
            ? {
                workerUsOverBarePost:
                  variant.workerSide === "bare-post" ? null : cpuOver(roundsOf(variant.workerSide), barePost),
                objectUs: variant.workerSide === variant.id ? null : cpuOver(results, roundsOf(variant.workerSide)),
              }
            : null,
        rows: rows[index],
        rounds: results,
      };
    }),
  };
}

function runtimeVersions() {
  const requireFromBench = createRequire(path.join(benchDir, "package.json"));
  const miniflareEntry = requireFromBench.resolve("miniflare");
  const requireFromMiniflare = createRequire(miniflareEntry);
  const versionOf = (entry, name) => {
    // Walk up from the resolved entry to the package's own package.json.
    for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      try {
        const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
        if (manifest.name === name) return manifest.version;
      } catch {
        // no package.json at this level
      }
    }
    return "unknown";
  };
  return {
    miniflare: versionOf(miniflareEntry, "miniflare"),
    workerd: versionOf(requireFromMiniflare.resolve("workerd"), "workerd"),
    autocannon: versionOf(requireFromBench.resolve("autocannon"), "autocannon"),
  };
}

let lastProgressLength = 0;
/** One progress line: rewritten in place on a terminal, one line per step in CI logs. */
function progress(message, last = false) {
  const elapsed = `${Math.round((Date.now() - started) / 1000)}s`.padStart(5);
  const line = `bench${quick ? " --quick" : ""} ${elapsed}  ${message}`;
  if (process.stderr.isTTY) {
    process.stderr.write(`\r${line.padEnd(lastProgressLength)}${last ? "\n" : ""}`);
    lastProgressLength = line.length;
  } else {
    process.stderr.write(`${line}\n`);
  }
}

async function shutdown(code) {
  // Stop what this process started, by handle: the load generator (its PID) and workerd (dispose).
  if (loadProcess?.pid) process.kill(loadProcess.pid, "SIGKILL");
  if (chatProcess?.pid) process.kill(chatProcess.pid, "SIGKILL");
  await miniflare?.dispose().catch(() => {});
  miniflare = undefined;
  if (tmp) await rm(tmp, { recursive: true, force: true });
  if (failures.length) {
    process.stderr.write(`\nbench FAILED:\n${failures.map((failure) => `  - ${failure}`).join("\n")}\n`);
    code = code || 1;
  }
  process.exit(code);
}
