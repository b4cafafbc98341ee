/**
 * The room's limits: a message rate per connection (kept in the socket's attachment, so it
 * survives hibernation) and a maximum number of people per room.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, connect, join, roomStub, say, setClock, uniqueRoom, type Client } from "./helpers";

function burst(client: Client, count: number) {
  for (let i = 0; i < count; i++) client.send({ type: "message", text: `burst ${i}` });
}

async function countOf(room: string) {
  return (await (await api(`/api/rooms/${room}/count`)).json<{ count: number }>()).count;
}

describe("message rate per connection (20 per 10 s)", () => {
  it("refuses the 21st message in a burst with a rate_limited error and does not store it", async () => {
    const room = uniqueRoom();
    await setClock(room, Date.now());
    const { client } = await join(room);
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
    const room = uniqueRoom();
    await setClock(room, Date.now());
    const { client } = await join(room);
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
    const room = uniqueRoom();
    const start = Date.now();
    await setClock(room, start);
    const { client } = await join(room);
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
