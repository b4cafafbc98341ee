/**
 * The room's limits: a message rate per connection (kept in the socket's attachment, so it
 * survives hibernation) and a maximum number of people per room.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChatRoom } from "../src/chat-room-object";
import { connect, countOf, join, joinRoomWithClock, roomStub, say, setClock, type Client, uniqueRoom } from "./helpers";

function burst(client: Client, count: number) {
  for (let i = 0; i < count; i++) client.send({ type: "message", text: `burst ${i}` });
}

describe("message rate per connection (20 per 10 s)", () => {
  it("refuses the 21st message in a burst with a rate_limited error and does not store it", async () => {
    const { room, client } = await joinRoomWithClock();
    burst(client, 21);
    for (let i = 0; i < 20; i++) expect(await client.next()).toMatchObject({ type: "message", text: `burst ${i}` });
    expect(await client.next()).toMatchObject({
      type: "error",
      code: "rate_limited",
      detail: expect.stringContaining("Warning 1 of 3"),
    });
    expect(await countOf(room)).toBe(20);
  });

  it("closes the socket with 1008 when it keeps sending after three warnings", async () => {
    const { room, client } = await joinRoomWithClock();
    burst(client, 24);
    const errors = [];
    for (let i = 0; i < 23; i++) {
      const message = (await client.next()) as { type: string; code?: string };
      if (message.type === "error") errors.push(message.code);
    }
    expect(errors).toEqual(["rate_limited", "rate_limited", "rate_limited"]);
    expect(await client.closed).toEqual({ code: 1008, reason: "rate_limited", wasClean: true });
    expect(await countOf(room)).toBe(20);
  });

  it("allows messages again once time has passed (one more every 500 ms, a full burst after 10 s)", async () => {
    const { room, start, client } = await joinRoomWithClock();
    burst(client, 20);
    for (let i = 0; i < 20; i++) await client.nextOf("message");
    await setClock(room, start + 500);
    expect(await say(client, "one more")).toMatchObject({ id: 21 });
    await setClock(room, start + 10_500);
    burst(client, 20);
    for (let i = 0; i < 20; i++) expect(await client.next()).toMatchObject({ type: "message" });
  });

  it("keeps counting across hibernation: waking the object does not hand out a fresh allowance", async () => {
    const room = uniqueRoom();
    const { client } = await join(room);
    burst(client, 20);
    for (let i = 0; i < 20; i++) await client.nextOf("message");
    await evictDurableObject(roomStub(room));
    client.send({ type: "message", text: "one too many" });
    expect(await client.next()).toMatchObject({ type: "error", code: "rate_limited" });
  });

  it("limits each connection on its own: one member's flood does not silence another", async () => {
    const room = uniqueRoom();
    await setClock(room, Date.now());
    const flooder = await join(room, { name: "Flooder" });
    const calm = await join(room, { name: "Calm" });
    burst(flooder.client, 21);
    expect(await flooder.client.nextOf("error")).toMatchObject({ code: "rate_limited" });
    calm.client.send({ type: "message", text: "I can still talk" });
    let message;
    do message = await calm.client.nextOf("message");
    while (message.name !== "Calm");
    expect(message).toMatchObject({ id: 21, text: "I can still talk" });
  });

  it("counts invalid frames too, so a flood of garbage is closed as well", async () => {
    const room = uniqueRoom();
    await setClock(room, Date.now());
    const client = await connect(room);
    await client.nextOf("welcome");
    for (let i = 0; i < 24; i++) client.send("{garbage");
    expect(await client.closed).toEqual({ code: 1008, reason: "rate_limited", wasClean: true });
  });
});

describe("floods", () => {
  it("drops the frames already on the wire once it has decided to close: no attachment write, nothing stored", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    // Someone else stays, so the flooder's departure costs nothing and is announced to them.
    const watcher = (await join(room, { name: "Watcher" })).client;
    const { client, welcome } = await join(room, { name: "Flooder" });
    const writes = await runInDurableObject(roomStub(room), (instance: ChatRoom, state) => {
      // The clock: frames 1-24 arrive at `start` (20 allowed, 3 warnings, then the close); any
      // frame after that would arrive a minute later, when the rate would allow it again.
      let calls = 0;
      instance.clock = () => (calls++ < 24 ? start : start + 60_000);
      // Count every attachment written for the flooder's socket.
      const counted = { attachments: 0 };
      for (const ws of state.getWebSockets()) {
        if ((ws.deserializeAttachment() as { user: { id: string } }).user.id !== welcome.you.id) continue;
        const serialize = ws.serializeAttachment.bind(ws);
        ws.serializeAttachment = (value) => {
          if (value !== null) counted.attachments++;
          serialize(value);
        };
      }
      return { counted, before: { ...instance.sql.meter } };
    });
    burst(client, 30);
    expect(await client.closed).toEqual({ code: 1008, reason: "rate_limited", wasClean: true });
    // The close reaches the room after every frame sent before it: once its departure is
    // announced, all 30 frames have been handled.
    expect((await watcher.nextOf("leave")).user.id).toBe(welcome.you.id);
    const after = await runInDurableObject(roomStub(room), (instance: ChatRoom) => ({ ...instance.sql.meter }));
    // 20 messages stored, one row each; the 6 frames after the close decision wrote nothing.
    expect(after.rowsWritten - writes.before.rowsWritten).toBe(20);
    expect(await countOf(room)).toBe(20);
    // One attachment write per frame up to the 23rd (the rate state); none for the frame that
    // closed the socket, none for the six behind it.
    expect(writes.counted.attachments).toBe(23);
    await watcher.close();
  });

  it("closes with 1008 a client that keeps sending at 4× the allowed rate, though every 4th frame is allowed", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    const { client } = await join(room);
    // One frame every 125 ms of the room's clock: 8 a second where 2 are allowed.
    await runInDurableObject(roomStub(room), (instance: ChatRoom) => {
      let calls = 0;
      instance.clock = () => start + 125 * calls++;
    });
    const frames = 200;
    burst(client, frames);
    // Every frame is answered (stored and broadcast, or a warning) until the socket is closed.
    const answers: string[] = [];
    const answered = (async () => {
      for (let i = 0; i < frames; i++) answers.push(((await client.next()) as { type: string }).type);
      return "never closed" as const;
    })();
    expect(await Promise.race([client.closed, answered])).toEqual({
      code: 1008,
      reason: "rate_limited",
      wasClean: true,
    });
    // The burst allowance (20) went through, then one frame in four; the 4th refusal within 10 s
    // of the first, at the 31st frame (3.75 s in), closed it. Before, refusals were counted in a
    // row, and an allowed frame started them over: three in a row at most, never closed.
    expect(answers.slice(0, 20)).toEqual(Array(20).fill("message"));
    expect(answers).toHaveLength(30);
    expect(answers.filter((type) => type === "error")).toHaveLength(3);
    expect(await countOf(room)).toBe(27);
  });

  it("never closes an honest client that is warned now and then and slows down", async () => {
    const { room, start, client } = await joinRoomWithClock();
    // Ten times: a burst one over the allowance (a warning), then 10 s of silence.
    for (let round = 0; round < 10; round++) {
      await setClock(room, start + round * 10_000);
      burst(client, 21);
      for (let i = 0; i < 20; i++) expect(await client.next()).toMatchObject({ type: "message" });
      expect(await client.next()).toMatchObject({ type: "error", detail: expect.stringContaining("Warning 1 of 3") });
    }
    await setClock(room, start + 100_000);
    expect(await say(client, "still here")).toMatchObject({ id: 201 });
  });
});

describe("people per room (at most 100)", () => {
  it("accepts the 101st connection only to send room_full and close it with 1008", async () => {
    const room = uniqueRoom();
    const members: Client[] = [];
    for (let i = 0; i < 100; i++) members.push((await join(room, { name: `p${i}` })).client);

    const extra = await connect(room, { name: "One too many" });
    expect(await extra.next()).toMatchObject({ type: "error", code: "room_full" });
    expect(await extra.closed).toEqual({ code: 1008, reason: "room_full", wasClean: true });

    // Nobody was told about the refused connection, and a place frees up when someone leaves.
    await members[0]!.close();
    const next = await join(room, { name: "Next" });
    expect(next.welcome.present).toHaveLength(100);
    expect(next.welcome.present.map((user) => user.name)).not.toContain("One too many");
  });
});
