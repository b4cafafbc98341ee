/**
 * The hibernatable WebSocket helpers, through the fixture echo room (test/fixtures/socket-fixture.ts):
 * `say` is echoed to the sender, `shout` is broadcast to the others (or to one tag), and every
 * bad frame gets an error message or a close code. The tests are the clients.
 */
import { env, exports } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { socketClient, uniqueName, type SocketClient } from "../src/testing";

let sequence = 0;
function uniqueRoom(): string {
  return `room-${Date.now().toString(36)}-${sequence++}`;
}

type Client = SocketClient;

/** Opens a socket to the room as `user` with `tags`, and queues what the server sends. */
async function connect(room: string, user: string, tags: string[] = []): Promise<Client> {
  const search = new URLSearchParams([["user", user], ...tags.map((tag) => ["tag", tag])]);
  const response = await exports.default.fetch(`http://example.com/rooms/${room}/websocket?${search}`, {
    headers: { upgrade: "websocket" },
  });
  return socketClient(response);
}

/** Connects and consumes the greeting. */
async function join(room: string, user: string, tags: string[] = []): Promise<Client> {
  const client = await connect(room, user, tags);
  expect(await client.next()).toEqual({ type: "welcome", user });
  return client;
}

describe("connecting", () => {
  it("greets a new socket as soon as it connects", async () => {
    const client = await connect(uniqueRoom(), "ada");
    expect(await client.next()).toEqual({ type: "welcome", user: "ada" });
  });

  it("answers the text frame ping with pong without a handler", async () => {
    const client = await join(uniqueRoom(), "ada");
    client.send("ping");
    expect(await client.next()).toBe("pong");
  });
});

describe("per-socket state", () => {
  it("echoes a say message with the user stored in the socket's attachment", async () => {
    const client = await join(uniqueRoom(), "ada");
    client.send({ type: "say", text: "hello" });
    expect(await client.next()).toEqual({ type: "said", from: "ada", text: "hello" });
  });

  it("still knows who each socket is after the object hibernates", async () => {
    const room = uniqueRoom();
    const [ada, bob] = [await join(room, "ada"), await join(room, "bob")];

    // Eviction drops the instance and every field; the sockets stay open (hibernated).
    await evictDurableObject(env.SOCKET_FIXTURE.getByName(room));

    bob.send({ type: "say", text: "still here?" });
    expect(await bob.next()).toEqual({ type: "said", from: "bob", text: "still here?" });
    ada.send({ type: "shout", text: "yes" });
    expect(await ada.next()).toEqual({ type: "reached", count: 1 });
    expect(await bob.next()).toEqual({ type: "shouted", from: "ada", text: "yes" });
  });
});

describe("broadcast", () => {
  it("reaches every other socket but not the sender, and counts them", async () => {
    const room = uniqueRoom();
    const [ada, bob, cy] = [await join(room, "ada"), await join(room, "bob"), await join(room, "cy")];

    ada.send({ type: "shout", text: "hi all" });
    expect(await ada.next()).toEqual({ type: "reached", count: 2 });
    expect(await bob.next()).toEqual({ type: "shouted", from: "ada", text: "hi all" });
    expect(await cy.next()).toEqual({ type: "shouted", from: "ada", text: "hi all" });

    // The sender got nothing else: its next message is the echo of what it says now.
    ada.send({ type: "say", text: "me" });
    expect(await ada.next()).toEqual({ type: "said", from: "ada", text: "me" });
  });

  it("reaches only the sockets with the tag when one is given", async () => {
    const room = uniqueRoom();
    const ada = await join(room, "ada");
    const red = await join(room, "red-one", ["red"]);
    const blue = await join(room, "blue-one", ["blue"]);
    const both = await join(room, "both", ["red", "blue"]);

    ada.send({ type: "shout", text: "reds only", tag: "red" });
    expect(await ada.next()).toEqual({ type: "reached", count: 2 });
    expect(await red.next()).toEqual({ type: "shouted", from: "ada", text: "reds only" });
    expect(await both.next()).toEqual({ type: "shouted", from: "ada", text: "reds only" });

    // Blue was skipped: the first thing it receives is the next, untagged shout.
    ada.send({ type: "shout", text: "everyone" });
    expect(await ada.next()).toEqual({ type: "reached", count: 3 });
    expect(await blue.next()).toEqual({ type: "shouted", from: "ada", text: "everyone" });
  });

  it("skips a socket that has closed, without failing", async () => {
    const room = uniqueRoom();
    const [ada, bob, cy] = [await join(room, "ada"), await join(room, "bob"), await join(room, "cy")];
    bob.socket.close(1000, "leaving");
    await bob.closed;

    ada.send({ type: "shout", text: "who is left?" });
    expect(await ada.next()).toEqual({ type: "reached", count: 1 });
    expect(await cy.next()).toEqual({ type: "shouted", from: "ada", text: "who is left?" });
  });
});

describe("bad frames", () => {
  it("closes with 1003 on a binary frame", async () => {
    const client = await join(uniqueRoom(), "ada");
    client.socket.send(new Uint8Array([1, 2, 3]));
    expect(await client.closed).toMatchObject({ code: 1003, reason: "binary frames are not supported" });
  });

  it("closes with 1009 on a frame over 256 bytes", async () => {
    const client = await join(uniqueRoom(), "ada");
    client.send({ type: "say", text: "x".repeat(300) });
    expect(await client.closed).toMatchObject({ code: 1009, reason: "message larger than 256 bytes" });
  });

  it("counts bytes, not characters, against the frame limit", async () => {
    const client = await join(uniqueRoom(), "ada");
    // 90 characters but 270 bytes of UTF-8: under the schema's 100 characters, over 256 bytes.
    client.send({ type: "say", text: "€".repeat(90) });
    expect(await client.closed).toMatchObject({ code: 1009 });
  });

  it("closes with 1003 on a message type it does not know", async () => {
    const client = await join(uniqueRoom(), "ada");
    client.send({ type: "dance" });
    expect(await client.closed).toMatchObject({ code: 1003, reason: "unknown message type; expected say, shout" });
  });

  it("answers malformed JSON with an error message and keeps the socket open", async () => {
    const client = await join(uniqueRoom(), "ada");
    client.send("{not json");
    expect(await client.next()).toEqual({
      type: "error",
      code: "malformed_json",
      detail: "The message is not valid JSON.",
    });
    client.send({ type: "say", text: "still open" });
    expect(await client.next()).toEqual({ type: "said", from: "ada", text: "still open" });
  });

  it("answers a message that fails the schema with the errors and keeps the socket open", async () => {
    const client = await join(uniqueRoom(), "ada");
    client.send({ type: "say", text: 42 });
    expect(await client.next()).toEqual({
      type: "error",
      code: "invalid_message",
      detail: expect.stringContaining("text: "),
      errors: [{ path: "text", message: expect.any(String) }],
    });
    client.send({ type: "say", text: "fixed" });
    expect(await client.next()).toEqual({ type: "said", from: "ada", text: "fixed" });
  });
});

describe("closing", () => {
  it("returns the client's close code, so the client sees a clean close", async () => {
    const client = await join(uniqueRoom(), "ada");
    client.socket.close(4001, "bye");
    expect(await client.closed).toEqual({ code: 4001, reason: "bye", wasClean: true });
  });
});

// Watchers, through the fixture built on SqlDurableObject (test/fixtures/sql-object-fixture.ts):
// its notes are the state they follow.
describe("watchers: sockets that follow an object's state", () => {
  const fixture = (name: string) => env.SQL_OBJECT_FIXTURE.getByName(uniqueName(name));
  const watch = async (stub: ReturnType<typeof fixture>) =>
    socketClient(await stub.fetch("http://fixture/watch", { headers: { upgrade: "websocket" } }));

  it("builds and sends nothing when nobody watches", async () => {
    expect(await fixture("unwatched").announce("quiet")).toEqual({ reached: 0, built: false });
  });

  it("sends a new watcher the state at once, then each change", async () => {
    const stub = fixture("watched");
    await stub.schedule("first", 0);
    await runDurableObjectAlarm(stub);
    const watcher = await watch(stub);
    expect(await watcher.next()).toEqual({ type: "notes", notes: ["first"] });
    expect(await stub.announce("second")).toEqual({ reached: 1, built: true });
    expect(await watcher.next()).toEqual({ type: "note", label: "second" });
  });

  it("stops sending to a watcher that has gone", async () => {
    const stub = fixture("left");
    const watcher = await watch(stub);
    await watcher.next();
    watcher.socket.close(1000, "done");
    await expect.poll(() => stub.announce("after")).toEqual({ reached: 0, built: false });
  });
});
