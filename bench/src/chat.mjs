/**
 * The broadcast benchmark: one room with N idle (hibernatable) WebSocket clients, one of them
 * sends M messages, and the time until every client has every message gives deliveries per
 * second. The chat room and a minimal partyserver room run side by side, in interleaved rounds,
 * with the clients in their own process (src/chat-clients.mjs).
 */
import { fork } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { summarize } from "./stats.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

export const chatTargets = [
  {
    id: "chat-room",
    worker: "chat-room",
    path: "/api/rooms/bench/websocket",
    kind: "chat",
    title: "chat room: validate, rate-limit, store one row, broadcast JSON to every socket",
  },
  {
    id: "partyserver",
    worker: "party",
    path: "/",
    kind: "party",
    title: "partyserver Server (hibernate: true) whose onMessage broadcasts the frame as it came",
  },
];

/**
 * @param {{ miniflare: import("miniflare").Miniflare, urls: Record<string, URL>, sockets: number,
 *   messages: number, rounds: number, progress: (message: string) => void, failures: string[],
 *   onChild: (child: import("node:child_process").ChildProcess | undefined) => void }} options
 */
export async function benchChat({ miniflare, urls, sockets, messages, rounds, progress, failures, onChild }) {
  const targets = chatTargets.map((target) => {
    const url = new URL(target.path, urls[target.worker]);
    url.protocol = "ws:";
    return { id: target.id, kind: target.kind, url: url.href };
  });
  const namespace = await miniflare.getDurableObjectNamespace("CHAT_ROOM", "chat-room");
  const room = namespace.get(namespace.idFromName("bench"));

  progress(`chat: connecting ${sockets} clients to each room`);
  const child = fork(path.join(here, "chat-clients.mjs"), [JSON.stringify({ targets, sockets, messages, rounds })], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  onChild(child);
  let before;
  const done = new Promise((resolve, reject) => {
    const guard = setTimeout(() => child.kill("SIGKILL"), 300_000);
    child.on("message", async (message) => {
      if (message.type === "connected") {
        before = await room.benchMeter();
        progress(`chat: ${rounds} rounds of ${messages} messages to ${sockets} clients per room`);
        child.send({ type: "go" });
      } else if (message.type === "done") {
        const after = await room.benchMeter();
        child.send({ type: "exit" });
        resolve({ rounds: message.rounds, after });
      }
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      onChild(undefined);
      if (code !== 0) reject(new Error(`chat clients exited with ${signal ?? code}`));
    });
  });
  const { rounds: byTarget, after } = await done;
  const sent = rounds * messages;

  const results = chatTargets.map((target) => {
    const results = byTarget[target.id];
    for (const [index, result] of results.entries()) {
      if (result.timedOut || result.received !== result.expected) {
        failures.push(`chat ${target.id} round ${index + 1}: ${result.received} of ${result.expected} deliveries`);
      }
    }
    return {
      id: target.id,
      title: target.title,
      roundMs: summarize(results.map((result) => result.ms)),
      deliveriesPerSecond: summarize(results.map((result) => result.expected / (result.ms / 1000))),
      rounds: results,
    };
  });
  const [chat, party] = results;
  return {
    sockets,
    messages,
    rounds,
    clients: "ws in a child process, one connection per client, no compression",
    variants: results,
    // Paired per round, like the HTTP ratios: the two rooms' rounds run back to back.
    chatVsPartyserver: summarize(chat.rounds.map((result, index) => party.rounds[index].ms / result.ms)),
    chatRows: {
      messages: sent,
      rowsReadPerMessage: (after.rowsRead - before.rowsRead) / sent,
      rowsWrittenPerMessage: (after.rowsWritten - before.rowsWritten) / sent,
      source: "the chat room's Sql meter, exact; partyserver's room stores nothing",
    },
  };
}
