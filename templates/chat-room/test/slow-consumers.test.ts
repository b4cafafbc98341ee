/**
 * Slow consumers: the runtime does not say how much a socket has waiting to be sent, so clients
 * acknowledge what they have read (`{"type":"ack","id"}`). A socket more than 512 KiB or 1,000
 * messages of broadcasts behind its last acknowledgement is closed with 1008 `too_far_behind`,
 * so a client that stops reading holds a bounded share of the room's memory; clients that
 * acknowledge as they read are never closed.
 */
import { describe, expect, it } from "vitest";
import {
  ACK_EVERY_MESSAGES,
  MAX_UNACKED_BYTES,
  MAX_UNACKED_MESSAGES,
  RATE_LIMIT,
  type ChatMessage,
} from "../src/protocol";
import { join, say, setClock, uniqueRoom, type Client } from "./helpers";

const encoder = new TextEncoder();

/** Watches a socket without acknowledging: every frame's size in bytes (after the welcome), and its close. */
function stalled(client: Client) {
  const frames: number[] = [];
  let closed: { code: number; reason: string } | null = null;
  client.socket.addEventListener("message", (event) => {
    frames.push(encoder.encode(event.data as string).byteLength);
  });
  void client.closed.then(({ code, reason }) => (closed = { code, reason }));
  return { frames, closed: () => closed };
}

/** Reads as a client should: acknowledges every ACK_EVERY_MESSAGES messages as they arrive. */
function reading(client: Client) {
  const ids: number[] = [];
  let closed = false;
  client.socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data as string) as { type: string; id: number };
    if (message.type !== "message") return;
    ids.push(message.id);
    if (ids.length % ACK_EVERY_MESSAGES === 0) client.send({ type: "ack", id: message.id });
  });
  void client.closed.then(() => (closed = true));
  return { ids: () => ids, closed: () => closed };
}

/**
 * Sends `n` messages from `sender`, each acknowledged by the sender as it arrives, moving the
 * room's clock past the rate limit's window every 20 messages. Stops early when `until()` holds.
 */
async function talk(room: string, sender: Client, n: number, text: (i: number) => string, until = () => false) {
  let clock = Date.now();
  const sent: ChatMessage[] = [];
  for (let i = 0; i < n && !until(); i++) {
    if (i % RATE_LIMIT.messages === 0) await setClock(room, (clock += RATE_LIMIT.windowMs));
    const message = await say(sender, text(i));
    sender.send({ type: "ack", id: message.id });
    sent.push(message);
  }
  return sent;
}

/** Lets frames already sent arrive (the close of a socket, an acknowledgement in flight). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("slow consumers", () => {
  it("closes a client that stops acknowledging with 1008 too_far_behind once 512 KiB of broadcasts wait for it", async () => {
    const room = uniqueRoom("slow");
    const { client: silent } = await join(room, { name: "Silent" });
    const watch = stalled(silent);
    const { client: sender } = await join(room, { name: "Sender" });
    // 2,000 three-byte characters: a frame of about 6 KiB.
    const sent = await talk(
      room,
      sender,
      200,
      (i) => `${i} ${"€".repeat(1_990)}`,
      () => watch.closed() !== null,
    );
    await settle();
    expect(watch.closed()).toEqual({ code: 1008, reason: "too_far_behind" });
    // Closed at the broadcast that took it past the limit, not one later: what it was sent after
    // its welcome (the sender's join, then the messages) is over 512 KiB by less than one frame.
    const total = watch.frames.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(MAX_UNACKED_BYTES);
    expect(total - watch.frames.at(-1)!).toBeLessThanOrEqual(MAX_UNACKED_BYTES);
    // The join aside, it was sent the messages up to that one and none after.
    const reached = watch.frames.length - 1;
    expect(reached).toBeLessThan(100);
    expect(sent.length).toBeGreaterThanOrEqual(reached);
  });

  it("keeps a client that acknowledges as it reads, through ten times that much", async () => {
    const room = uniqueRoom("slow");
    const { client: reader } = await join(room, { name: "Reader" });
    const read = reading(reader);
    const { client: sender } = await join(room, { name: "Sender" });
    const sent = await talk(room, sender, 900, (i) => `${i} ${"€".repeat(1_990)}`);
    await settle();
    expect(read.closed()).toBe(false);
    expect(read.ids()).toEqual(sent.map((m) => m.id));
  }, 30_000);

  it("closes a client 1,000 small messages behind, whatever their size, and keeps one acknowledging every 32", async () => {
    const room = uniqueRoom("slow");
    const { client: silent } = await join(room, { name: "Silent" });
    const watch = stalled(silent);
    const { client: reader } = await join(room, { name: "Reader" });
    const read = reading(reader);
    const { client: sender } = await join(room, { name: "Sender" });
    await talk(
      room,
      sender,
      MAX_UNACKED_MESSAGES + 20,
      (i) => `m${i}`,
      () => watch.closed() !== null,
    );
    await settle();
    expect(watch.closed()).toEqual({ code: 1008, reason: "too_far_behind" });
    // Two joins aside: messages up to the first one over the limit, and none after.
    expect(watch.frames.length - 2).toBe(MAX_UNACKED_MESSAGES + 1);
    expect(read.closed()).toBe(false);
  }, 30_000);

  it("does not count an acknowledgement of new messages against the rate limit", async () => {
    const room = uniqueRoom("slow");
    const { client } = await join(room, { name: "Ada" });
    await setClock(room, Date.now());
    // The whole budget of 20 frames on messages, each acknowledged: no warning.
    for (let i = 0; i < RATE_LIMIT.messages; i++) {
      const message = await say(client, `m${i}`);
      client.send({ type: "ack", id: message.id });
    }
    // The 21st frame that is not a fresh acknowledgement is over the rate.
    client.send({ type: "ack", id: 1 });
    expect(await client.nextOf("error")).toMatchObject({ code: "rate_limited" });
  });

  it("counts an acknowledgement of nothing new like any frame, so repeating one is rate-limited", async () => {
    const room = uniqueRoom("slow");
    const { client } = await join(room, { name: "Ada" });
    await setClock(room, Date.now());
    for (let i = 0; i < RATE_LIMIT.messages + 1; i++) client.send({ type: "ack", id: 0 });
    expect(await client.nextOf("error")).toMatchObject({
      code: "rate_limited",
      detail: expect.stringContaining("Warning 1 of 3"),
    });
  });

  it("answers an acknowledgement of a message that does not exist yet with invalid_ack", async () => {
    const room = uniqueRoom("slow");
    const { client } = await join(room, { name: "Ada" });
    const message = await say(client, "hello");
    client.send({ type: "ack", id: message.id + 1 });
    expect(await client.nextOf("error")).toMatchObject({ code: "invalid_ack" });
    client.send({ type: "ack", id: -1 });
    expect(await client.nextOf("error")).toMatchObject({ code: "invalid_message" });
  });
});
