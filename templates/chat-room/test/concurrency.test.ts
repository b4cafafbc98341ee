/**
 * Many senders at once. Each message is one synchronous INSERT, so concurrent messages cannot
 * interleave: ids are gapless, the count is exact and every socket sees the same order.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChatRoom } from "../src/chat-room-object";
import type { ChatMessage } from "../src/protocol";
import { api, join, roomStub, uniqueRoom, type Client } from "./helpers";

/** Collects the next `count` chat messages a client receives. */
async function collect(client: Client, count: number): Promise<ChatMessage[]> {
  const messages: ChatMessage[] = [];
  while (messages.length < count) messages.push(await client.nextOf("message"));
  return messages;
}

describe("500 concurrent messages from 10 sockets", () => {
  it("stores every one, counts exactly 500 and delivers all of them to every socket in the same order", async () => {
    const room = uniqueRoom();
    const members = await Promise.all(Array.from({ length: 10 }, (_, i) => join(room, { name: `user${i}` })));
    // Each connection may send 20 messages per 10 s. This test is about concurrency, not that
    // limit (see limits.test.ts), so the room's clock moves 1 s every time it is read: to the
    // limiter the 50 messages of each socket arrive well apart, to the object they all arrive at once.
    await runInDurableObject(roomStub(room), (instance: ChatRoom) => {
      let now = Date.now();
      instance.clock = () => (now += 1_000);
    });

    members.forEach(({ client }, sender) => {
      for (let k = 0; k < 50; k++) client.send({ type: "message", text: `${sender}:${k}` });
    });
    const received = await Promise.all(members.map(({ client }) => collect(client, 500)));

    expect(await (await api(`/api/rooms/${room}/count`)).json()).toEqual({ room, count: 500 });
    const ids = received[0]!.map((m) => m.id);
    expect(ids).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    for (const messages of received) expect(messages).toEqual(received[0]);
    // Each sender's own messages keep the order it sent them in.
    for (let sender = 0; sender < 10; sender++) {
      const own = received[0]!.filter((m) => m.name === `user${sender}`).map((m) => m.text);
      expect(own).toEqual(Array.from({ length: 50 }, (_, k) => `${sender}:${k}`));
    }
  });
});
