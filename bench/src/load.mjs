/**
 * The load generator, run by the harness as its own process so that it never shares a thread
 * with workerd or with the harness. Reads one JSON job from argv, runs autocannon against a
 * loopback URL for a bounded time, prints one JSON summary to stdout and exits.
 *
 *   node src/load.mjs '{"url":"http://127.0.0.1:1234/noop","method":"GET","duration":5,"connections":10}'
 */
import autocannon from "autocannon";

const job = JSON.parse(process.argv[2] ?? "{}");
const url = new URL(job.url);
// Load goes to this machine only: refuse anything but loopback.
if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
  console.error(`load: refusing non-loopback target ${url.hostname}`);
  process.exit(2);
}

// autocannon's own histogram keeps whole milliseconds, too coarse for a no-op that answers in
// about one; every expected response's time is kept here instead (float ms from process.hrtime).
// Expected: `job.status` when the job names one (a variant measuring 429s), else any 2xx.
const expected = (statusCode) => (job.status ? statusCode === job.status : statusCode >= 200 && statusCode < 300);
const latencies = [];
const run = autocannon({
  url: job.url,
  method: job.method,
  headers: job.headers,
  body: job.body,
  connections: job.connections,
  pipelining: 1,
  duration: job.duration,
  timeout: 10,
});
run.on("response", (_client, statusCode, _bytes, milliseconds) => {
  if (expected(statusCode)) latencies.push(milliseconds);
});
const result = await run;

latencies.sort((a, b) => a - b);
const percentile = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
const completed = result["2xx"] + result.non2xx;
// `ok` counts the expected answers, `non2xx` every other one (named for the common case).
const ok = job.status ? (result.statusCodeStats?.[job.status]?.count ?? 0) : result["2xx"];
process.stdout.write(
  JSON.stringify({
    requests: completed,
    ok,
    non2xx: completed - ok,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    rps: completed / result.duration,
    latencyMs: { p50: percentile(50), p90: percentile(90), p99: percentile(99), max: latencies.at(-1) ?? 0 },
    statusCodes: result.statusCodeStats,
  }) + "\n",
);
