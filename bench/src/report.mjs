/** The human-readable forms of a run's results: a markdown table and an SVG bar chart. */
import { readFile, writeFile } from "node:fs/promises";
import * as prettier from "prettier";
import { round } from "./stats.mjs";

const range = ({ median, min, max }, digits = 2) =>
  `${round(median, digits)} (${round(min, digits)}–${round(max, digits)})`;
/** A range, or a dash for a number this variant (or platform) does not have. */
const maybe = (summary, digits = 2) => (summary ? range(summary, digits) : "–");

/**
 * @param {any} results the object written to results/*.json
 * @example
 * writeFile("results/latest.md", markdownReport(results));
 */
export function markdownReport(results) {
  const { machine, versions, plan } = results;
  const lines = [
    `Run ${results.date.slice(0, 16).replace("T", " ")} UTC (${results.mode}), ${machine.cores} × ${machine.cpu}, Node ${versions.node}, workerd ${versions.workerd}.`,
    `${plan.rounds} interleaved rounds of ${plan.durationSeconds} s per variant, ${plan.connections} connections; medians with (min–max) over rounds.`,
    "Ratios divide by the no-op ceiling measured in the same round; rows are counted over " +
      `${plan.meteredRequests} sequential requests.`,
    results.cpu
      ? "CPU µs / req is workerd's user + system CPU time over each burst divided by the requests it served. " +
        "Limit is the fixture each variant is also compared with in the same round (bare-write for a write, bare-post for a " +
        "POST whose object does nothing, the ceiling for bare-post itself); Worker side is the CPU µs per request of the app's Worker in front of a no-op " +
        "object over bare-post's, object side the variant's over its Worker side."
      : "CPU time: not measured (no /proc on this platform).",
    "",
    "| Variant | Throughput × ceiling | p50 × ceiling | p99 × ceiling | req/s | CPU µs / req | p50 ms | p99 ms | Rows read / op | Rows written / op | Limit | Throughput × limit | CPU × limit | Worker side: CPU µs over bare-post | Object side: CPU µs |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const variant of results.variants) {
    const { vsLimit, split } = variant;
    lines.push(
      `| ${variant.id}: ${variant.title} | ${range(variant.vsCeiling.throughput)} | ${range(variant.vsCeiling.p50)} | ${range(variant.vsCeiling.p99)} | ${range(variant.rps, 0)} | ${maybe(variant.cpuUsPerRequest, 0)} | ${range(variant.p50Ms, 1)} | ${range(variant.p99Ms, 1)} | ${round(variant.rows.rowsReadPerOp, 3)} | ${round(variant.rows.rowsWrittenPerOp, 3)} | ${variant.limit ?? "–"} | ${maybe(vsLimit?.throughput)} | ${maybe(vsLimit?.cpu)} | ${maybe(split?.workerUsOverBarePost, 0)} | ${maybe(split?.objectUs, 0)} |`,
    );
  }
  lines.push("", "Where the rows come from:", "");
  for (const variant of results.variants) {
    const stored =
      variant.rows.storedEntries === undefined
        ? ""
        : ` (${variant.rows.storedEntries} entries stored after the rounds)`;
    lines.push(`- ${variant.id}: ${variant.rows.source}${stored}.`);
  }
  if (results.alarms) lines.push("", ...alarmLines(results.alarms));
  if (results.chat) lines.push("", ...chatLines(results.chat));
  if (results.workflow) lines.push("", ...workflowLines(results.workflow));
  if (results.listing) lines.push("", ...listingLines(results.listing));
  if (!results.ok)
    lines.push("", "**This run had failures:**", "", ...results.failures.map((failure) => `- ${failure}`));
  return lines.join("\n") + "\n";
}

const count = (value) => Math.round(value).toLocaleString("en-US");

/** The listing benchmark: pages of one workflow's index at N entries against the same at a few. */
function listingLines(listed) {
  const { large, small } = listed.entries;
  const [fill] = listed.fill;
  const lines = [
    `### Workflow: listing instances, one workflow's index at ${count(large)} entries`,
    "",
    `Median of ${listed.rounds} interleaved rounds with (min–max), each round's median of ${listed.requestsPerRound} requests ` +
      "sent one at a time from the harness through the app's Worker (HTTP, bearer token); the no-op ceiling's `GET /noop` " +
      `timed the same way takes ${range(listed.floorMs, 2)} ms. The baseline is the same request against the same index ` +
      `holding ${count(small)} entries, in its own copy of the app; × divides the two per round. Rows are exact, from the ` +
      `Sql meters of the index objects the request asks, per request. The ${count(large)} entries (a new instance every 30 s, ` +
      `every 7th in each status) were inserted straight into the index's SQLite in ${count(fill.ms)} ms ` +
      `(${round(fill.databaseBytes / 2 ** 20, 1)} MiB); requests per second under load are the \`workflow-list\` rows above.`,
    "",
    `| Request | ms at ${count(large)} | ms at ${count(small)} | × (${count(large)} over ${count(small)}) | Rows read / request at ${count(large)} | Rows read / request at ${count(small)} | Rows written / request | Index objects asked |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const page of listed.pages) {
    const [atLarge, atSmall] = page.sizes;
    lines.push(
      `| ${page.id}: ${page.title} | ${range(atLarge.ms, 2)} | ${range(atSmall.ms, 2)} | ${range(page.largeOverSmall)} | ${round(atLarge.rows.rowsRead, 2)} | ${round(atSmall.rows.rowsRead, 2)} | ${round(atLarge.rows.rowsWritten, 2)} | ${atLarge.rows.indexObjects} |`,
    );
  }
  return lines;
}

/** The workflow benchmark: create to complete of N tiny steps, and rows per step. */
function workflowLines(workflow) {
  const lines = [
    "### Workflow: create to complete",
    "",
    `Median of ${workflow.repeats} repeat${workflow.repeats === 1 ? "" : "s"} with (min–max), a fresh instance each. ` +
      "Each step is a `step.do` returning a small number. The harness creates the instance over RPC, then does each alarm " +
      `invocation's work over RPC until it is complete (each call's ${round(workflow.rpcFloorMs, 2)} ms round trip is included); ` +
      "rows are exact, from the object's Sql meter, creation included.",
    "",
    "| Workflow | Create to complete (ms) | ms per step | Alarm runs | Rows read | Rows written | Rows read / step | Rows written / step |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const run of workflow.workflows) {
    lines.push(
      `| workflow app: ${run.steps} steps | ${range(run.totalMs, 1)} | ${range(run.msPerStep, 3)} | ${run.alarmRuns} | ${count(run.rowsRead)} | ${count(run.rowsWritten)} | ${round(run.rowsReadPerStep, 2)} | ${round(run.rowsWrittenPerStep, 2)} |`,
    );
  }
  for (const run of workflow.peer ?? []) {
    lines.push(
      `| Cloudflare Workflows (Miniflare's local engine): ${run.steps} steps | ${range(run.totalMs, 1)} | ${range(run.msPerStep, 3)} | – | – | – | – | – |`,
    );
  }
  if (workflow.peer?.length) {
    lines.push(
      "",
      "Cloudflare Workflows: one HTTP request to a Worker that creates the instance and polls its status every 1 ms until " +
        "complete (the binding has no wait); Miniflare's local emulation, not the production engine; its storage has no meter.",
    );
  }
  return lines;
}

/** The broadcast benchmark: deliveries per second to N idle sockets, chat room and partyserver. */
function chatLines(chat) {
  const lines = [
    `### Broadcast: ${count(chat.messages)} messages to ${count(chat.sockets)} idle WebSockets`,
    "",
    `Median of ${chat.rounds} interleaved rounds with (min–max). In each round one client sends ${chat.messages} messages at once; ` +
      `the round ends when all ${count(chat.sockets)} clients (the sender included) have all of them. Clients: ${chat.clients}.`,
    "",
    "| Room | Deliveries / s | ms per round | Rows read / message | Rows written / message |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const variant of chat.variants) {
    const rows = variant.id === "chat-room" ? chat.chatRows : { rowsReadPerMessage: 0, rowsWrittenPerMessage: 0 };
    lines.push(
      `| ${variant.id}: ${variant.title} | ${range(variant.deliveriesPerSecond, 0)} | ${range(variant.roundMs, 0)} | ${round(rows.rowsReadPerMessage, 3)} | ${round(rows.rowsWrittenPerMessage, 3)} |`,
    );
  }
  lines.push(
    "",
    `The chat room delivers at ${range(chat.chatVsPartyserver)} × partyserver's rate (per-round pairs). Rows: ${chat.chatRows.source}.`,
  );
  return lines;
}

/** The alarm benchmark: draining and scheduling the same tasks, per implementation. */
function alarmLines(alarms) {
  const lines = [
    `### Alarms: ${count(alarms.tasks)} due tasks`,
    "",
    `Median of ${alarms.repeats} repeat${alarms.repeats === 1 ? "" : "s"} with (min–max). A run is one RPC from the harness ` +
      `doing one alarm invocation's work (its ${round(alarms.rpcFloorMs, 2)} ms round trip is included); rows and alarm writes ` +
      "are exact, from one meter around every object's storage.",
    "",
    "| Implementation | Time to drain (ms) | Alarm runs | ms per run | Rows read / run | Rows written / run | Rows read / task | Rows written / task | setAlarm / deleteAlarm calls |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const impl of alarms.implementations) {
    lines.push(
      `| ${impl.id}: ${impl.title} | ${range(impl.drainMs, 0)} | ${impl.runs} | ${range(impl.runMs, 1)} | ${count(impl.rowsReadPerRun.median)} | ${count(impl.rowsWrittenPerRun.median)} | ${round(impl.drain.rowsRead / alarms.tasks, 2)} | ${round(impl.drain.rowsWritten / alarms.tasks, 2)} | ${count(impl.drain.alarmWrites)} |`,
    );
  }
  lines.push(
    "",
    `Scheduling the ${count(alarms.tasks)} tasks:`,
    "",
    "| Implementation | Time (ms) | Rows read | Rows written | setAlarm / deleteAlarm calls |",
    "| --- | --- | --- | --- | --- |",
  );
  for (const impl of alarms.implementations) {
    lines.push(
      `| ${impl.id} | ${range(impl.scheduleMs, 0)} | ${count(impl.schedule.rowsRead)} | ${count(impl.schedule.rowsWritten)} | ${count(impl.schedule.alarmWrites)} |`,
    );
  }
  return lines;
}

const escape = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * A horizontal bar per variant: median throughput as a fraction of the ceiling, with a whisker
 * from the round with the lowest ratio to the one with the highest.
 */
export function svgChart(results) {
  const labelWidth = 230;
  const plotWidth = 460;
  const barHeight = 26;
  const gap = 14;
  const top = 48;
  const bottom = 40;
  const height = top + results.variants.length * (barHeight + gap) + bottom;
  const width = labelWidth + plotWidth + 90;
  const maxRatio = Math.max(1, ...results.variants.map((variant) => variant.vsCeiling.throughput.max));
  const scaleMax = Math.ceil(maxRatio * 4) / 4;
  const x = (ratio) => labelWidth + (ratio / scaleMax) * plotWidth;

  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${labelWidth}" y="20" font-weight="600">Throughput as a fraction of the no-op Durable Object ceiling</text>`,
    `<text x="${labelWidth}" y="37" fill="#555" font-size="11">${escape(`median of ${results.plan.rounds} rounds, whiskers min–max; ${results.date.slice(0, 10)}, ${results.machine.cores} × ${results.machine.cpu}`)}</text>`,
  ];
  for (let tick = 0; tick <= scaleMax + 1e-9; tick += 0.25) {
    const tx = x(tick);
    parts.push(
      `<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${height - bottom + 4}" stroke="${tick === 1 ? "#999" : "#e5e5e5"}"${tick === 1 ? ' stroke-dasharray="4 3"' : ""}/>`,
      `<text x="${tx}" y="${height - bottom + 20}" text-anchor="middle" fill="#555" font-size="11">${round(tick)}×</text>`,
    );
  }
  results.variants.forEach((variant, index) => {
    const y = top + index * (barHeight + gap);
    const { median, min, max } = variant.vsCeiling.throughput;
    const mid = y + barHeight / 2;
    const color = variant.id === "ceiling" ? "#9ca3af" : index % 2 ? "#2563eb" : "#f97316";
    parts.push(
      `<text x="${labelWidth - 10}" y="${mid + 4}" text-anchor="end">${escape(variant.id)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${x(median) - labelWidth}" height="${barHeight}" fill="${color}"/>`,
      `<line x1="${x(min)}" y1="${mid}" x2="${x(max)}" y2="${mid}" stroke="#111" stroke-width="1.5"/>`,
      `<line x1="${x(min)}" y1="${mid - 6}" x2="${x(min)}" y2="${mid + 6}" stroke="#111" stroke-width="1.5"/>`,
      `<line x1="${x(max)}" y1="${mid - 6}" x2="${x(max)}" y2="${mid + 6}" stroke="#111" stroke-width="1.5"/>`,
      `<text x="${x(Math.max(max, median)) + 8}" y="${mid + 4}">${round(median)}×</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/**
 * Puts the table of a run between the `latest:start` / `latest:end` markers of a README,
 * formatted as `pnpm lint` expects.
 *
 * @example
 * await updateReadme("bench/README.md", JSON.parse(await readFile("bench/results/latest.json", "utf8")));
 */
export async function updateReadme(file, results) {
  const readme = await readFile(file, "utf8");
  const [start, end] = ["<!-- latest:start -->", "<!-- latest:end -->"];
  const before = readme.slice(0, readme.indexOf(start) + start.length);
  const after = readme.slice(readme.indexOf(end));
  const updated = `${before}\n\n${markdownReport(results)}\n${after}`;
  const options = (await prettier.resolveConfig(file)) ?? {};
  await writeFile(file, await prettier.format(updated, { ...options, filepath: file }));
}
