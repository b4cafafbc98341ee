/**
 * Safe retries. A client cannot tell a message that was lost from one that was stored but whose
 * acknowledgement was lost (the object crashed, the connection dropped), so it resends what was
 * never acknowledged, with the `clientId` it first sent. Within the window the room answers a
 * resend with the original message, the same id, and stores nothing.
 */
import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLIENT_ID_WINDOW_MS } from "../src/protocol";
import { countOf, join, setClock, uniqueRoom } from "./helpers";

describe("a message with a clientId", () => {
  it("is acknowledged with its clientId, which the history keeps", async () => {
    const room = uniqueRoom();
    const { client } = await join(room);
    client.send({ type: "message", text: "hello", clientId: "c-1" });
    const ack = await client.nextOf("message");
    expect(ack).toMatchObject({ id: 1, text: "hello", clientId: "c-1" });
    const later = await join(room, { name: "Later" });
    const { type: _, ...stored } = ack;
    expect(later.welcome.history).toEqual([stored]);
    await later.client.close();
    await client.close();
  });

  it("sent again, even from another connection, is answered with the original message and stored once", async () => {
    const room = uniqueRoom();
    const ada = await join(room, { name: "Ada" });
    const grace = await join(room, { name: "Grace" });
    await ada.client.nextOf("join");
    ada.client.send({ type: "message", text: "only once", clientId: "0b9d1f2e-retry" });
    const original = await ada.client.nextOf("message");
    expect(await grace.client.nextOf("message")).toEqual(original);
    await ada.client.close();

    // The same person after a reconnect: a new connection, a new user id, the same clientId.
    const back = await join(room, { name: "Ada", after: 0, epoch: ada.welcome.epoch });
    back.client.send({ type: "message", text: "only once", clientId: "0b9d1f2e-retry" });
    expect(await back.client.nextOf("message")).toEqual(original);
    expect(await countOf(room)).toBe(1);
    // Grace was not sent it twice: her next message is the next one stored.
    back.client.send({ type: "message", text: "next", clientId: "c-2" });
    expect(await grace.client.nextOf("message")).toMatchObject({ id: 2, text: "next" });
    await back.client.close();
    await grace.client.close();
  });

  it("resent after the object crashed is stored at most once", async () => {
    const room = uniqueRoom();
    const { client, welcome } = await join(room);
    // Sent, then the object is aborted before the client reads any acknowledgement: the message
    // may or may not have been stored, and the client cannot know which.
    client.send({ type: "message", text: "did it arrive?", clientId: "crash-1" });
    await abortAllDurableObjects();
    await client.closed;
    const again = await join(room, { name: "Ada", after: 0, epoch: welcome.epoch });
    again.client.send({ type: "message", text: "did it arrive?", clientId: "crash-1" });
    const ack = await again.client.nextOf("message");
    expect(ack).toMatchObject({ id: 1, text: "did it arrive?", clientId: "crash-1" });
    expect(await countOf(room)).toBe(1);
    await again.client.close();
  });

  it("is a new message once the original is older than the window", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    await setClock(room, start);
    const { client } = await join(room);
    client.send({ type: "message", text: "first", clientId: "reused" });
    expect(await client.nextOf("message")).toMatchObject({ id: 1 });
    await setClock(room, start + CLIENT_ID_WINDOW_MS - 1);
    client.send({ type: "message", text: "first", clientId: "reused" });
    expect(await client.nextOf("message")).toMatchObject({ id: 1 });
    await setClock(room, start + CLIENT_ID_WINDOW_MS);
    client.send({ type: "message", text: "again, much later", clientId: "reused" });
    expect(await client.nextOf("message")).toMatchObject({ id: 2, text: "again, much later" });
    await client.close();
  });

  it.each([
    ["an empty clientId", ""],
    ["a clientId of 65 characters", "x".repeat(65)],
    ["a clientId with a space", "a b"],
    ["a clientId with a dot", "a.b"],
    ["a clientId that is a number", 12],
  ])("refuses %s with invalid_message and stores nothing", async (_, clientId) => {
    const room = uniqueRoom();
    const { client } = await join(room);
    client.send({ type: "message", text: "hi", clientId });
    expect(await client.next()).toMatchObject({ type: "error", code: "invalid_message" });
    expect(await countOf(room)).toBe(0);
    await client.close();
  });
});
