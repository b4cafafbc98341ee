/**
 * Every kind of bad input is refused with the documented status, error message or close code,
 * and nothing of it is stored or broadcast.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import type { ChatRoom } from "../src/chat-room-object";
import { api, join, roomStub, say, uniqueRoom, type Client } from "./helpers";

async function problem(response: Response) {
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return { status: response.status, ...(await response.json<{ type: string; detail: string }>()) };
}

const upgrade = { headers: { upgrade: "websocket" } };

describe("HTTP requests the Worker refuses", () => {
  it("refuses a room name outside the pattern with 400", async () => {
    expect(await problem(await api("/api/rooms/no%20spaces/count"))).toMatchObject({
      status: 400,
      type: "urn:durable-patterns:problem:invalid-path-parameter",
    });
    expect((await api(`/api/rooms/${"x".repeat(65)}/count`)).status).toBe(400);
  });

  it.each([
    ["a missing name", ""],
    ["an empty name", "?name="],
    ["a name of only spaces", "?name=%20%20%20"],
    ["a name of 33 characters", `?name=${"n".repeat(33)}`],
    ["a name with a control character", "?name=Ada%07"],
    ["a negative after", "?name=Ada&after=-1"],
    ["an after that is not a number", "?name=Ada&after=last"],
  ])("refuses a join with %s with 400 before upgrading", async (_, search) => {
    const response = await api(`/api/rooms/${uniqueRoom()}/websocket${search}`, upgrade);
    expect(response.webSocket).toBeNull();
    expect(await problem(response)).toMatchObject({ status: 400, type: "urn:durable-patterns:problem:invalid-query" });
  });

  it("leaves refusing a join query to the Worker: one that reaches the room unvalidated (a Worker bug) throws", async () => {
    // Only the Worker makes HTTP errors; the object trusts its caller, so a bad query there is a
    // bug, which the Worker's error handler logs and answers with a 500. No socket is accepted.
    const room = uniqueRoom();
    const bypass = runInDurableObject(roomStub(room), (instance: ChatRoom) =>
      instance.fetch(new Request(`https://chat.example/api/rooms/${room}/websocket?after=last`, upgrade)),
    );
    await expect(bypass).rejects.toThrow(ZodError);
    expect(await runInDurableObject(roomStub(room), (_instance, state) => state.getWebSockets().length)).toBe(0);
  });

  it("accepts a name of exactly 32 characters", async () => {
    const { welcome } = await join(uniqueRoom(), { name: "n".repeat(32) });
    expect(welcome.you.name).toHaveLength(32);
  });

  it("refuses a plain GET on the WebSocket route with 426", async () => {
    expect(await problem(await api(`/api/rooms/${uniqueRoom()}/websocket?name=Ada`))).toMatchObject({
      status: 426,
      type: "urn:durable-patterns:problem:websocket-required",
    });
  });

  it.each([["limit=0"], ["limit=101"], ["limit=ten"], ["before=-5"], ["before=1.5"]])(
    "refuses history paging with %s with 400",
    async (search) => {
      expect((await problem(await api(`/api/rooms/${uniqueRoom()}/messages?${search}`))).status).toBe(400);
    },
  );

  it("answers 404 for tokens when the deployment has no CHAT_SECRET", async () => {
    const response = await api(`/api/rooms/${uniqueRoom()}/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Ada" }),
    });
    expect(await problem(response)).toMatchObject({
      status: 404,
      type: "urn:durable-patterns:problem:tokens-disabled",
    });
  });

  it.each([
    ["a body that is not JSON", { headers: { "content-type": "text/plain" }, body: '{"name":"Ada"}' }, 415],
    ["a body of the wrong shape", { headers: { "content-type": "application/json" }, body: '{"nom":"Ada"}' }, 422],
    [
      "a name of 33 characters",
      { headers: { "content-type": "application/json" }, body: `{"name":"${"n".repeat(33)}"}` },
      422,
    ],
    [
      "a body over 1 KiB",
      { headers: { "content-type": "application/json" }, body: `{"name":"${"n".repeat(2_000)}"}` },
      413,
    ],
  ])("refuses a token request with %s with %i", async (_, init, status) => {
    const response = await api(`/api/rooms/${uniqueRoom()}/tokens`, { method: "POST", ...init });
    expect((await problem(response)).status).toBe(status);
  });

  it("answers an unknown route with a 404 problem", async () => {
    expect(await problem(await api("/api/rooms"))).toMatchObject({ status: 404 });
  });
});

describe("WebSocket frames the room refuses", () => {
  /** A sender and a second member who watches what gets broadcast. */
  async function roomWithWatcher() {
    const room = uniqueRoom();
    const watcher = await join(room, { name: "Watcher" });
    const sender = await join(room, { name: "Sender" });
    await watcher.client.nextOf("join");
    return { room, watcher: watcher.client, sender: sender.client };
  }

  /** Nothing was stored or broadcast: the next message anyone sees is the next valid one, id 1. */
  async function expectNothingStored(room: string, sender: Client, watcher: Client) {
    await say(sender, "valid");
    expect(await watcher.nextOf("message")).toMatchObject({ id: 1, text: "valid" });
    expect(await (await api(`/api/rooms/${room}/count`)).json()).toEqual({ room, count: 1 });
  }

  it.each([
    ["malformed JSON", "{not json", "malformed_json"],
    ["a message without text", { type: "message" }, "invalid_message"],
    ["empty text", { type: "message", text: "" }, "invalid_message"],
    ["text of only whitespace", { type: "message", text: " \n\t " }, "invalid_message"],
    ["text over 2,000 characters", { type: "message", text: "x".repeat(2_001) }, "invalid_message"],
    ["text with a control character", { type: "message", text: "bell\u0007" }, "invalid_message"],
    // JSON can escape half of a UTF-16 pair; SQLite stores UTF-8, which cannot hold it.
    ["text with a lone surrogate", '{"type":"message","text":"\\ud800 alone"}', "invalid_message"],
    ["text that is not a string", { type: "message", text: 42 }, "invalid_message"],
    ["an unexpected field", { type: "message", text: "hi", admin: true }, "invalid_message"],
  ])("answers %s with an error message, keeps the socket open and stores nothing", async (_, frame, code) => {
    const { room, watcher, sender } = await roomWithWatcher();
    sender.send(frame);
    expect(await sender.next()).toMatchObject({ type: "error", code, detail: expect.any(String) });
    await expectNothingStored(room, sender, watcher);
  });

  it("names the field and the rule in the error for text that is too long", async () => {
    const { sender } = await roomWithWatcher();
    sender.send({ type: "message", text: "x".repeat(2_001) });
    expect(await sender.next()).toMatchObject({
      code: "invalid_message",
      errors: [{ path: "text", message: "must be at most 2000 characters" }],
    });
  });

  it("accepts text of exactly 2,000 characters", async () => {
    const { sender } = await roomWithWatcher();
    expect((await say(sender, "x".repeat(2_000))).text).toHaveLength(2_000);
  });

  it.each([
    ["an unknown message type", { type: "delete", id: 1 }, 1003],
    ["JSON without a type", { text: "hi" }, 1003],
    ["a binary frame", new Uint8Array([1, 2, 3]), 1003],
    ["a frame over 8 KiB", JSON.stringify({ type: "message", text: "x".repeat(9_000) }), 1009],
  ])("closes the socket for %s with %i and stores nothing", async (_, frame, code) => {
    const { room, watcher, sender } = await roomWithWatcher();
    if (frame instanceof Uint8Array) sender.socket.send(frame);
    else sender.send(frame);
    expect((await sender.closed).code).toBe(code);
    const other = await join(room, { name: "Other" });
    await expectNothingStored(room, other.client, watcher);
  });
});
