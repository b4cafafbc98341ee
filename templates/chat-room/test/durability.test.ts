/**
 * Messages live in SQLite and each socket's user and rate state in its attachment, so nothing is
 * lost when the object is evicted from memory, and connected sockets keep chatting across
 * hibernation.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adaAndGrace, api, join, roomStub, say, uniqueRoom } from "./helpers";

describe("eviction", () => {
  it("keeps the history and the count when the object is evicted", async () => {
    const room = uniqueRoom();
    const { client } = await join(room);
    for (const text of ["kept", "also kept"]) await say(client, text);
    await client.close();
    await evictDurableObject(roomStub(room));
    expect(await (await api(`/api/rooms/${room}/count`)).json()).toEqual({ room, count: 2 });
    const later = await join(room, { name: "Later" });
    expect(later.welcome.history.map((m) => m.text)).toEqual(["kept", "also kept"]);
  });

  it("keeps numbering messages after the last stored id", async () => {
    const room = uniqueRoom();
    const { client } = await join(room);
    await say(client, "one");
    await evictDurableObject(roomStub(room));
    expect((await say(client, "two")).id).toBe(2);
  });
});

describe("hibernation", () => {
  it("still broadcasts to every socket after the object was evicted while they stayed connected", async () => {
    const { room, ada, grace } = await adaAndGrace();
    // The default `webSockets: "hibernate"` is what the runtime does to an idle object: the
    // instance is gone, the connections are kept by the runtime.
    await evictDurableObject(roomStub(room));
    grace.client.send({ type: "message", text: "still here?" });
    for (const { client } of [ada, grace]) {
      expect(await client.nextOf("message")).toMatchObject({ id: 1, name: "Grace", text: "still here?" });
    }
  });

  it("remembers who is present: the users live in the sockets' attachments", async () => {
    const room = uniqueRoom();
    const ada = await join(room, { name: "Ada" });
    await evictDurableObject(roomStub(room));
    const grace = await join(room, { name: "Grace" });
    expect(grace.welcome.present).toEqual(expect.arrayContaining([ada.welcome.you, grace.welcome.you]));
    expect(grace.welcome.present).toHaveLength(2);
  });

  it("sends the sender's name from the attachment after waking up", async () => {
    const room = uniqueRoom();
    const ada = await join(room, { name: "Ada" });
    await evictDurableObject(roomStub(room));
    expect(await say(ada.client, "hi")).toMatchObject({ userId: ada.welcome.you.id, name: "Ada" });
  });

  it("announces a leave that happens while the object hibernates", async () => {
    const { room, ada, grace } = await adaAndGrace();
    await evictDurableObject(roomStub(room));
    await grace.client.close();
    expect(await ada.client.nextOf("leave")).toEqual({ type: "leave", user: grace.welcome.you });
  });
});
