/**
 * `node src/profile.mjs <variant> [--seconds S] [--top N]`: a V8 CPU profile of one HTTP variant of
 * the bench (src/config.mjs, e.g. `rate-limiter-worker`), taken through workerd's inspector while
 * four clients repeat the variant's request, summarized as self time per function. Not part of
 * `pnpm bench`: the tool behind "where the time goes" in the README.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import WebSocket from "ws";
import { workerOptions } from "./build.mjs";
import { variants, workers } from "./config.mjs";

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: "string" }, top: { type: "string" }, out: { type: "string" } },
});
const variant = variants.find((v) => v.id === (positionals[0] ?? "rate-limiter-worker"));
if (!variant) throw new Error(`no variant ${positionals[0]}; one of ${variants.map((v) => v.id).join(", ")}`);
const piece = variant.id;
const seconds = Number(args.seconds ?? 5);

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const tmp = await mkdtemp(path.join(os.tmpdir(), "profile-"));
const spec = workers.find((w) => w.name === variant.worker);
const { unsafeDirectSockets: _sockets, ...worker } = await workerOptions(spec, benchDir, tmp);
const inspectorPort = await freePort();
const miniflare = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    inspectorPort,
    workers: [worker],
    resourcePersistencePath: path.join(tmp, "state"),
    telemetry: { enabled: false },
  }),
);
try {
  const url = await miniflare.ready;
  // What the variant reads must be there first (e.g. an index to list), as in `pnpm bench`.
  if (variant.fill) {
    const namespace = await miniflare.getDurableObjectNamespace(variant.fill.binding, spec.name);
    await namespace.get(namespace.idFromName(variant.fill.name)).benchFill(variant.fill.entries);
  }
  const { method, path: route, headers, body } = variant.request;
  const call = async () => {
    const response = await fetch(new URL(route, url), { method, headers, body });
    if (response.status >= 300) throw new Error(`${piece}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  };
  for (let i = 0; i < 500; i++) await call(); // JIT first

  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const target = targets.find((t) => t.title?.includes(spec.name)) ?? targets[0];
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  let id = 0;
  const pending = new Map();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data));
    if (message.id && pending.has(message.id)) {
      pending.get(message.id)(message);
      pending.delete(message.id);
    }
  });
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      const messageId = ++id;
      pending.set(messageId, resolve);
      socket.send(JSON.stringify({ id: messageId, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 50 });
  await send("Profiler.start");
  const until = Date.now() + seconds * 1000;
  let calls = 0;
  const client = async () => {
    while (Date.now() < until) {
      await call();
      calls++;
    }
  };
  await Promise.all([client(), client(), client(), client()]);
  const { result } = await send("Profiler.stop");
  socket.close();
  const profile = result.profile;
  if (args.out) await writeFile(args.out, JSON.stringify(profile));

  // Self time per node: samples × interval, spread over the time deltas.
  const selfUs = new Map();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    selfUs.set(node, (selfUs.get(node) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const where = (frame) => {
    const source = frame.url.replace(/^.*\//, "");
    return `${frame.functionName || "(anonymous)"} ${source}:${frame.lineNumber + 1}`;
  };
  const perFunction = new Map();
  for (const [node, us] of selfUs) {
    const key = ["(idle)", "(program)", "(garbage collector)"].includes(node.callFrame.functionName)
      ? node.callFrame.functionName
      : where(node.callFrame);
    perFunction.set(key, (perFunction.get(key) ?? 0) + us);
  }
  // Each bundle line shown, so an anonymous function can be told apart.
  const bundle = (await readFile(path.join(tmp, `${spec.name}.mjs`), "utf8")).split("\n");
  const lineOf = (key) => {
    const match = key.match(/\.mjs:(\d+)$/);
    return match ? `   ${bundle[Number(match[1]) - 1]?.trim().slice(0, 90)}` : "";
  };
  const top = Number(args.top ?? 30);
  const busy = total - (perFunction.get("(idle)") ?? 0);
  console.log(
    `${piece}: ${calls} requests in ${seconds} s; ${(busy / 1000).toFixed(0)} ms of JavaScript busy of ${(total / 1000).toFixed(0)} ms sampled, ${(busy / calls).toFixed(1)} µs per request`,
  );
  console.log("self time, share of busy time:");
  for (const [key, us] of [...perFunction]
    .filter(([k]) => k !== "(idle)")
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${key}${lineOf(key)}`);
  }
} finally {
  await miniflare.dispose();
  await rm(tmp, { recursive: true, force: true });
}
