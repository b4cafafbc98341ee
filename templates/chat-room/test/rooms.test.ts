/**
 * The chat itself: joining, broadcasting to everyone in the room, presence, and the HTTP routes
 * that read a room's count and history.
 */
import { describe, expect, it } from "vitest";
import { adaAndGrace, api, connect, fill, join, say, uniqueRoom } from "./helpers";

describe("joining a room", () => {
  it("welcomes a new member with who they are, the room's epoch, empty history and who is present", async () => {
    const room = uniqueRoom();
    const { welcome } = await join(room, { name: "Ada" });
    expect(welcome).toEqual({
      type: "welcome",
      you: { id: expect.any(String), name: "Ada", joinedAt: expect.any(Number) },
      epoch: expect.stringMatching(/^[0-9a-f]{16}$/),
      history: [],
      present: [welcome.you],
      truncated: false,
      reset: false,
    });
  });

  it("trims the display name", async () => {
    const { welcome } = await join(uniqueRoom(), { name: "  Grace  " });
    expect(welcome.you.name).toBe("Grace");
  });

  it("tells everyone already present that someone joined, and lists both for the newcomer", async () => {
    const room = uniqueRoom();
    const ada = await join(room, { name: "Ada" });
    const grace = await join(room, { name: "Grace" });
    expect(await ada.client.nextOf("join")).toEqual({ type: "join", user: grace.welcome.you });
    expect(grace.welcome.present).toHaveLength(2);
    expect(grace.welcome.present).toEqual(expect.arrayContaining([ada.welcome.you, grace.welcome.you]));
  });

  it("sends the last 50 messages, oldest first, to someone who joins later", async () => {
    const room = uniqueRoom();
    await fill(room, 55);
    const late = await join(room, { name: "Late" });
    expect(late.welcome.history.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i + 6}`));
    expect(late.welcome.history.map((m) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 6));
  });
});

describe("sending messages", () => {
  it("broadcasts a message with its id, sender and time to everyone in the room, the sender included", async () => {
    const room = uniqueRoom();
    const ada = await join(room, { name: "Ada" });
    const grace = await join(room, { name: "Grace" });
    const bob = await join(room, { name: "Bob" });
    ada.client.send({ type: "message", text: "Hello, room" });
    const expected = {
      type: "message",
      id: 1,
      userId: ada.welcome.you.id,
      name: "Ada",
      text: "Hello, room",
      at: expect.any(Number),
    };
    expect(await ada.client.nextOf("message")).toEqual(expected);
    expect(await grace.client.nextOf("message")).toEqual(expected);
    expect(await bob.client.nextOf("message")).toEqual(expected);
  });

  it("keeps rooms apart: a message reaches only its own room", async () => {
    const [first, second] = [uniqueRoom(), uniqueRoom()];
    const inFirst = await join(first);
    const inSecond = await join(second);
    await say(inFirst.client, "only here");
    await say(inSecond.client, "and only here");
    const messages = await api(`/api/rooms/${first}/messages`).then((r) => r.json<{ messages: { text: string }[] }>());
    expect(messages.messages.map((m) => m.text)).toEqual(["only here"]);
  });

  it("gives messages strictly increasing ids", async () => {
    const { client } = await join(uniqueRoom());
    const ids = [];
    for (const text of ["a", "b", "c", "d"]) ids.push((await say(client, text)).id);
    expect(ids).toEqual([1, 2, 3, 4]);
  });

  it("stores the text trimmed, and line breaks inside it as they are", async () => {
    const { client } = await join(uniqueRoom());
    expect((await say(client, "  two\nlines  ")).text).toBe("two\nlines");
  });

  it("stores markup as plain text; showing it safely is the page's job (textContent)", async () => {
    const { client } = await join(uniqueRoom());
    expect((await say(client, "<img src=x onerror=alert(1)>")).text).toBe("<img src=x onerror=alert(1)>");
  });
});

describe("leaving a room", () => {
  it("tells everyone left when someone closes their connection", async () => {
    const { ada, grace } = await adaAndGrace();
    await grace.client.close();
    expect(await ada.client.nextOf("leave")).toEqual({ type: "leave", user: grace.welcome.you });
  });

  it("no longer lists people who left", async () => {
    const room = uniqueRoom();
    const ada = await join(room, { name: "Ada" });
    const grace = await join(room, { name: "Grace" });
    await grace.client.close();
    await ada.client.nextOf("leave");
    const later = await join(room, { name: "Later" });
    expect(later.welcome.present.map((u) => u.name).sort()).toEqual(["Ada", "Later"]);
  });

  it("completes the closing handshake with the client's own code", async () => {
    const { client } = await join(uniqueRoom());
    client.socket.close(4000, "going to lunch");
    expect(await client.closed).toEqual({ code: 4000, reason: "going to lunch", wasClean: true });
  });
});

describe("heartbeats", () => {
  it('answers "ping" with "pong" (in the runtime, without waking the object)', async () => {
    const client = await connect(uniqueRoom());
    await client.nextOf("welcome");
    client.send("ping");
    expect(await client.next()).toBe("pong");
  });
});

describe("GET /api/rooms/:room/count", () => {
  it("is 0 for a room nobody wrote in", async () => {
    const room = uniqueRoom();
    const response = await api(`/api/rooms/${room}/count`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ room, count: 0 });
  });

  it("counts every message ever posted to the room", async () => {
    const room = uniqueRoom();
    const { client } = await join(room);
    for (const text of ["one", "two", "three"]) await say(client, text);
    expect(await (await api(`/api/rooms/${room}/count`)).json()).toEqual({ room, count: 3 });
  });
});

describe("GET /api/rooms/:room/messages", () => {
  async function roomWith(count: number) {
    const room = uniqueRoom();
    await fill(room, count);
    return room;
  }

  it("returns the newest 50 messages, newest first, and the id to page back from", async () => {
    const room = await roomWith(60);
    const page = await (await api(`/api/rooms/${room}/messages`)).json<{ messages: { id: number }[]; next: number }>();
    expect(page.messages.map((m) => m.id)).toEqual(Array.from({ length: 50 }, (_, i) => 60 - i));
    expect(page.next).toBe(11);
  });

  it("pages back with before and limit until next is null", async () => {
    const room = await roomWith(7);
    const pages = [];
    let before: number | null = null;
    do {
      const query: string = before === null ? "?limit=3" : `?limit=3&before=${before}`;
      const page = await (
        await api(`/api/rooms/${room}/messages${query}`)
      ).json<{
        messages: { id: number; text: string; name: string }[];
        next: number | null;
      }>();
      pages.push(page.messages.map((m) => m.id));
      before = page.next;
    } while (before !== null);
    expect(pages).toEqual([[7, 6, 5], [4, 3, 2], [1]]);
  });

  it("returns whole messages: id, sender, text and time", async () => {
    const room = await roomWith(1);
    const page = await (await api(`/api/rooms/${room}/messages`)).json();
    expect(page).toEqual({
      room,
      messages: [{ id: 1, userId: expect.any(String), name: "Ada", text: "m1", at: expect.any(Number) }],
      next: null,
    });
  });

  it("is empty for a room nobody wrote in", async () => {
    const room = uniqueRoom();
    expect(await (await api(`/api/rooms/${room}/messages`)).json()).toEqual({ room, messages: [], next: null });
  });
});
