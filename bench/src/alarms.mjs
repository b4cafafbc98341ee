/**
 * The alarm benchmark: how each implementation schedules and drains the same due tasks. Not an
 * HTTP load test: the harness drives one object per implementation over RPC (Miniflare's
 * `getDurableObjectNamespace`), calls its `runOnce()` (the work of one alarm invocation) until
 * nothing is pending, and times each call. Rows and alarm writes come from one storage meter
 * wrapped around every object's `ctx.storage` (src/workers/storage-meter.ts), so they compare.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { summarize } from "./stats.mjs";

/** Each implementation's object (src/workers/alarms.ts) and what it stands for. */
export const alarmImplementations = [
  {
    id: "alarm-queue",
    binding: "QUEUE_DRAIN",
    title: "shared AlarmQueue: scheduleMany, run() in batches of 1,000",
    dueInMs: () => 1000,
  },
  {
    id: "agents",
    binding: "AGENT_DRAIN",
    title: "agents SDK: this.schedule() per task, alarm()",
    // It arms its alarm on every call, due or not.
    dueInMs: () => 1000,
  },
  {
    id: "actors",
    binding: "ACTOR_DRAIN",
    title: "@cloudflare/actors Alarms: schedule() per task, alarm()",
    // It stops arming its alarm once the due second is no longer in the future: the tasks are due
    // well after its scheduling (0.3 to 0.5 ms per call here) ends, or its counts would depend on
    // the machine's speed.
    dueInMs: (tasks) => Math.max(1000, tasks),
  },
];

/**
 * @param {{ miniflare: import("miniflare").Miniflare, tasks: number, repeats: number,
 *   progress: (message: string) => void, failures: string[] }} options
 */
export async function benchAlarms({ miniflare, tasks, repeats, progress, failures }) {
  const namespaces = Object.fromEntries(
    await Promise.all(
      alarmImplementations.map(async ({ binding }) => [
        binding,
        await miniflare.getDurableObjectNamespace(binding, "alarms"),
      ]),
    ),
  );
  const rpcFloorMs = await rpcRoundTrip(miniflare);
  /** @type {Record<string, any[]>} */
  const repeatsById = Object.fromEntries(alarmImplementations.map(({ id }) => [id, []]));

  for (let repeat = 0; repeat < repeats; repeat++) {
    // Rotated like the HTTP rounds, so that no implementation always goes first.
    const order = alarmImplementations.map((_, i) => alarmImplementations[(repeat + i) % alarmImplementations.length]);
    const stubs = new Map();
    const scheduled = new Map();
    const dueAt = new Map();
    for (const implementation of order) {
      progress(`alarms ${repeat + 1}/${repeats}: ${implementation.id} schedules ${tasks} tasks`);
      const namespace = namespaces[implementation.binding];
      // A fresh object per repeat: every drain starts from the same empty tables.
      const stub = namespace.get(namespace.idFromName(`drain-${repeat}`));
      stubs.set(implementation.id, stub);
      const before = await meter(stub);
      const started = performance.now();
      dueAt.set(implementation.id, Date.now() + implementation.dueInMs(tasks));
      await stub.scheduleDue(tasks, dueAt.get(implementation.id));
      const ms = performance.now() - started;
      scheduled.set(implementation.id, { ms, ...difference(await meter(stub), before) });
    }
    // Drained in the order they were scheduled, each once its tasks are due (plus a second: two
    // of them keep whole seconds), so that the waits overlap the other implementations' work.
    for (const implementation of order) {
      await sleep(Math.max(0, dueAt.get(implementation.id) + 1000 - Date.now()));
      progress(`alarms ${repeat + 1}/${repeats}: ${implementation.id} drains ${tasks} tasks`);
      const stub = stubs.get(implementation.id);
      const runs = [];
      let pending = await stub.pending();
      if (pending !== tasks) failures.push(`alarms ${implementation.id}: ${pending} pending after scheduling ${tasks}`);
      while (pending > 0) {
        const before = await meter(stub);
        const started = performance.now();
        const result = await stub.runOnce();
        const ms = performance.now() - started;
        // Counted after the clock stopped: the progress check is the harness's, not the alarm's
        // work (a count over the tasks left would cost the queue's ten runs more than one run).
        const left = await stub.pending();
        runs.push({ ms, ...difference(await meter(stub), before), queueReport: result.report });
        if (left >= pending) {
          failures.push(`alarms ${implementation.id}: a run left ${left} of ${pending} pending`);
          break;
        }
        pending = left;
      }
      repeatsById[implementation.id].push({ schedule: scheduled.get(implementation.id), runs });
    }
  }

  const results = {
    tasks,
    repeats,
    rpcFloorMs,
    implementations: alarmImplementations.map((implementation) => {
      const all = repeatsById[implementation.id];
      const last = all.at(-1);
      const sum = (runs, key) => runs.reduce((total, run) => total + run[key], 0);
      return {
        id: implementation.id,
        binding: implementation.binding,
        title: implementation.title,
        drainMs: summarize(all.map(({ runs }) => sum(runs, "ms"))),
        scheduleMs: summarize(all.map(({ schedule }) => schedule.ms)),
        runs: last.runs.length,
        // Every run of every repeat: one alarm invocation's time.
        runMs: summarize(all.flatMap(({ runs }) => runs.map((run) => run.ms))),
        // Storage numbers are exact and the same in every repeat; the last one is reported.
        rowsReadPerRun: summarize(last.runs.map((run) => run.rowsRead)),
        rowsWrittenPerRun: summarize(last.runs.map((run) => run.rowsWritten)),
        drain: {
          rowsRead: sum(last.runs, "rowsRead"),
          rowsWritten: sum(last.runs, "rowsWritten"),
          alarmWrites: sum(last.runs, "alarmWrites"),
        },
        schedule: {
          rowsRead: last.schedule.rowsRead,
          rowsWritten: last.schedule.rowsWritten,
          alarmWrites: last.schedule.alarmWrites,
        },
        // The shared queue's own RunReport, which must agree with the meter.
        queueReportAgrees: last.runs.every(
          (run) =>
            !run.queueReport ||
            (run.queueReport.rowsRead === run.rowsRead && run.queueReport.rowsWritten === run.rowsWritten),
        ),
        repeats: all.map(({ schedule, runs }) => ({
          scheduleMs: schedule.ms,
          drainMs: sum(runs, "ms"),
          runs: runs.length,
        })),
      };
    }),
  };
  for (const implementation of results.implementations) {
    if (!implementation.queueReportAgrees)
      failures.push(`alarms ${implementation.id}: RunReport rows differ from the meter`);
  }
  return results;
}

async function meter(stub) {
  const { statements, rowsRead, rowsWritten, alarmWrites } = await stub.benchMeter();
  return { statements, rowsRead, rowsWritten, alarmWrites };
}

function difference(after, before) {
  return Object.fromEntries(Object.keys(after).map((key) => [key, after[key] - before[key]]));
}

/** The harness-to-object RPC round trip (through Miniflare's proxy), which every timed run includes. */
export async function rpcRoundTrip(miniflare) {
  const namespace = await miniflare.getDurableObjectNamespace("NOOP", "fixtures");
  const stub = namespace.get(namespace.idFromName("x"));
  const times = [];
  for (let i = 0; i < 50; i++) {
    const started = performance.now();
    await stub.ping();
    times.push(performance.now() - started);
  }
  return summarize(times.slice(10)).median;
}
