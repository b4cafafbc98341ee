/**
 * The WebSocket clients of the broadcast benchmark, run by the harness as their own process (with
 * an IPC channel) so that reading tens of thousands of frames never competes with the harness.
 *
 * Connects `sockets` clients to each target and waits until every one has joined, tells the
 * harness ("connected"), waits for "go", then runs `rounds` rounds: in each, for each target in a
 * rotated order, one client (a different one every round) sends `messages` messages at once and
 * the round ends when every client has received every one of them. Reports each round's time
 * ("done"), and closes every client when the harness says "exit".
 *
 *   fork("src/chat-clients.mjs", [JSON.stringify({ targets, sockets, messages, rounds })])
 */
import WebSocket from "ws";

const job = JSON.parse(process.argv[2] ?? "{}");
/** @type {{ id: string, url: string, kind: "chat" | "party" }[]} */
const targets = job.targets;
for (const target of targets) {
  // Load goes to this machine only: refuse anything but loopback.
  if (new URL(target.url).hostname !== "127.0.0.1") throw new Error(`refusing non-loopback target ${target.url}`);
}
const ROUND_TIMEOUT_MS = 30_000;

/** What the clients of the round in progress are counting, if one is. */
let current = null;

/** Opens one client; resolves once it has joined (the chat's welcome, or partyserver's open). */
function connect(target, index) {
  const url = target.kind === "chat" ? `${target.url}?name=bench-${index}` : target.url;
  // No compression: every frame is small and workerd would not negotiate it anyway.
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once("error", reject);
    ws.on("message", (data) => {
      if (current && data.includes(current.marker)) {
        current.received += 1;
        if (current.received === current.expected) current.done();
      }
    });
    if (target.kind === "chat") {
      ws.once("message", (data) => {
        if (String(data).startsWith('{"type":"welcome"')) resolve(ws);
        else reject(new Error(`${target.id}: expected a welcome, got ${String(data).slice(0, 200)}`));
      });
    } else {
      ws.once("open", () => resolve(ws));
    }
    ws.once("close", (code, reason) => {
      if (!finished) process.stderr.write(`chat-clients: ${target.id} client ${index} closed ${code} ${reason}\n`);
    });
  });
}

async function connectAll(target) {
  const clients = [];
  // A few at a time: every join is broadcast to the room, so joins are what costs here.
  for (let start = 0; start < job.sockets; start += 50) {
    const batch = Array.from({ length: Math.min(50, job.sockets - start) }, (_, i) => connect(target, start + i));
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

/** One client of `target` sends `job.messages` messages; resolves with the ms until all arrived everywhere. */
function round(target, clients, index) {
  const marker = `bench-${target.kind}-${index}-`;
  const sender = clients[index % clients.length];
  return new Promise((resolve) => {
    const started = performance.now();
    const timeout = setTimeout(() => {
      const { received, expected } = current;
      current = null;
      resolve({ ms: performance.now() - started, received, expected, timedOut: true });
    }, ROUND_TIMEOUT_MS);
    current = {
      marker: Buffer.from(marker),
      received: 0,
      expected: clients.length * job.messages,
      done() {
        clearTimeout(timeout);
        const { received, expected } = current;
        current = null;
        resolve({ ms: performance.now() - started, received, expected, timedOut: false });
      },
    };
    for (let i = 0; i < job.messages; i++) {
      const text = `${marker}${i}`;
      sender.send(target.kind === "chat" ? JSON.stringify({ type: "message", text }) : text);
    }
  });
}

let finished = false;
const clientsByTarget = new Map();
for (const target of targets) clientsByTarget.set(target.id, await connectAll(target));
process.send({ type: "connected" });
await new Promise((resolve) => process.once("message", resolve));

const rounds = Object.fromEntries(targets.map((target) => [target.id, []]));
for (let index = 0; index < job.rounds; index++) {
  for (let offset = 0; offset < targets.length; offset++) {
    const target = targets[(index + offset) % targets.length];
    rounds[target.id].push(await round(target, clientsByTarget.get(target.id), index));
  }
}
process.send({ type: "done", rounds });
// Closing makes the rooms write (the last one out schedules the idle purge): only once the
// harness has read the room's meter.
await new Promise((resolve) => process.once("message", resolve));
finished = true;
for (const clients of clientsByTarget.values()) for (const ws of clients) ws.terminate();
process.disconnect();
