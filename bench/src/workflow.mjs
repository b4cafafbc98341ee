/**
 * The workflow benchmark: how long an instance of N tiny `step.do` steps takes from create to
 * complete, and the rows it reads and writes per step. Not an HTTP load test: the harness drives
 * one fresh WorkflowRunner per repeat over RPC (Miniflare's `getDurableObjectNamespace`), creates
 * the instance, then does each alarm invocation's work (`benchRunOnce()`) until it is complete.
 * The object's clock runs an hour ahead (src/workers/workflow.ts), so the real alarm never fires
 * in between: the time is the engine's, not the runtime's alarm latency.
 *
 * The peer is Cloudflare Workflows as Miniflare emulates it (src/workers/cf-workflow.ts), running
 * the same workflow: one HTTP request to its Worker creates an instance and answers when the
 * instance is complete. Its storage has no meter, so it has no rows.
 */
import { rpcRoundTrip } from "./alarms.mjs";
import { summarize } from "./stats.mjs";

/**
 * @param {{ miniflare: import("miniflare").Miniflare, sizes: number[], repeats: number,
 *   progress: (message: string) => void, failures: string[] }} options
 */
export async function benchWorkflow({ miniflare, urls, sizes, repeats, progress, failures }) {
  const namespace = await miniflare.getDurableObjectNamespace("WORKFLOW_RUNNER", "workflow");
  const rpcFloorMs = await rpcRoundTrip(miniflare);
  const bySize = new Map(sizes.map((steps) => [steps, []]));
  const peerBySize = new Map(sizes.map((steps) => [steps, []]));
  const peerUrl = (steps) => new URL(`/run?steps=${steps}`, urls["cf-workflow"]);
  // One warm-up instance each: the first one in a Worker compiles the engine's code paths.
  await runInstance(namespace, "warm-up", sizes[0]);
  await runPeer(peerUrl(sizes[0]));
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const steps of sizes) {
      progress(`workflow ${repeat + 1}/${repeats}: ${steps} steps`);
      const run = await runInstance(namespace, `bench-${steps}-${repeat}`, steps);
      if (run.status !== "complete") failures.push(`workflow ${steps} steps: ended ${run.status}`);
      bySize.get(steps).push(run);
      progress(`workflow ${repeat + 1}/${repeats}: ${steps} steps, Cloudflare Workflows (local)`);
      const peer = await runPeer(peerUrl(steps));
      if (peer.status !== "complete") failures.push(`cf-workflow ${steps} steps: ended ${peer.status}`);
      peerBySize.get(steps).push(peer);
    }
  }
  return {
    repeats,
    rpcFloorMs,
    workflows: sizes.map((steps) => {
      const all = bySize.get(steps);
      // Storage numbers are exact and the same in every repeat; the last one is reported.
      const last = all.at(-1);
      return {
        steps,
        totalMs: summarize(all.map((run) => run.ms)),
        msPerStep: summarize(all.map((run) => run.ms / steps)),
        alarmRuns: last.alarmRuns,
        rpcCalls: last.alarmRuns + 1,
        statements: last.statements,
        rowsRead: last.rowsRead,
        rowsWritten: last.rowsWritten,
        rowsReadPerStep: last.rowsRead / steps,
        rowsWrittenPerStep: last.rowsWritten / steps,
        repeats: all.map(({ ms, alarmRuns }) => ({ ms, alarmRuns })),
      };
    }),
    peer: sizes.map((steps) => {
      const all = peerBySize.get(steps);
      return {
        steps,
        totalMs: summarize(all.map((run) => run.ms)),
        msPerStep: summarize(all.map((run) => run.ms / steps)),
        repeats: all.map(({ ms }) => ({ ms })),
      };
    }),
  };
}

/** One instance of the same workflow on Cloudflare Workflows (local): one HTTP request, timed. */
async function runPeer(url) {
  const started = performance.now();
  const response = await fetch(url);
  const { status } = await response.json();
  return { ms: performance.now() - started, status };
}

/** Creates instance `id` in a fresh object and runs its alarms until it stops; timed and metered. */
async function runInstance(namespace, id, steps) {
  const stub = namespace.get(namespace.idFromName(id));
  const before = await stub.benchMeter();
  const started = performance.now();
  const created = await stub.benchCreate(id, steps);
  if (!created.ok) throw new Error(`workflow ${id}: create refused (${created.reason})`);
  let status = "queued";
  let alarmRuns = 0;
  // A run that suspends (it cannot here: no sleeps, no events) would need another alarm.
  while (["queued", "running", "waiting"].includes(status) && alarmRuns < 1000) {
    status = await stub.benchRunOnce();
    alarmRuns++;
  }
  const ms = performance.now() - started;
  const after = await stub.benchMeter();
  return {
    ms,
    status,
    alarmRuns,
    statements: after.statements - before.statements,
    rowsRead: after.rowsRead - before.rowsRead,
    rowsWritten: after.rowsWritten - before.rowsWritten,
  };
}
