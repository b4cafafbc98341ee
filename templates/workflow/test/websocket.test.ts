/**
 * Live progress: `GET /api/instances/:id/websocket` streams the instance's status and every step
 * change over a hibernatable WebSocket.
 */
import { evictDurableObject } from "cloudflare:test";
import { storageOf } from "../src/shared/testing";
import { describe, expect, it } from "vitest";
import { api, connect, instance, lifecycle, run, sendEvent, start, stub, uniqueId } from "./helpers";

/** Asks for the live-progress WebSocket of `id`. */
function upgrade(id: string) {
  return api(`/api/instances/${id}/websocket`, { headers: { upgrade: "websocket" } });
}

describe("GET /api/instances/:id/websocket", () => {
  it("streams status and step changes as the instance runs", async () => {
    const id = await start("test-waiter");
    const client = await connect(id);
    expect(await client.next()).toEqual({ type: "status", id, status: "queued" });
    await run(id);
    expect(await client.next()).toEqual({ type: "status", id, status: "running" });
    expect(await client.next()).toMatchObject({
      type: "step",
      id,
      step: { key: "first ping#1", kind: "wait", status: "waiting" },
    });
    expect(await client.next()).toEqual({ type: "status", id, status: "waiting" });
  });

  it("keeps streaming after the object hibernates", async () => {
    const id = await start("test-waiter");
    await run(id);
    const client = await connect(id);
    expect(await client.next()).toEqual({ type: "status", id, status: "waiting" });
    await evictDurableObject(stub(id));
    await sendEvent(id, "ping", "one");
    await run(id);
    expect(await client.next()).toEqual({ type: "status", id, status: "running" });
    expect(await client.next()).toMatchObject({ type: "step", step: { key: "first ping#1", status: "complete" } });
    expect(await client.next()).toMatchObject({ type: "step", step: { key: "second ping#1", status: "waiting" } });
  });

  it("answers ping with pong without waking the object", async () => {
    const id = await start("test-waiter");
    const client = await connect(id);
    await client.next();
    client.socket.send("ping");
    expect(await client.next()).toBe("pong");
  });

  it("closes with 1003 when a client sends anything but ping: the socket only sends", async () => {
    const id = await start("test-waiter");
    const client = await connect(id);
    await client.next();
    client.socket.send(JSON.stringify({ type: "pause" }));
    expect((await client.closed).code).toBe(1003);
    expect((await instance(id)).status).toBe("queued");
  });

  it("refuses a WebSocket to an id with no instance with the 404 problem GET answers, and stores nothing", async () => {
    const id = uniqueId("nobody");
    const refused = await upgrade(id);
    expect([refused.status, refused.headers.get("content-type"), refused.webSocket]).toEqual([
      404,
      "application/problem+json",
      null,
    ]);
    const get = await api(`/api/instances/${id}`);
    expect(get.status).toBe(404);
    expect(await refused.json()).toEqual(await get.json());
    // The runner was asked (only it knows whether its instance exists), but neither the refused
    // upgrade nor the GET created a table or an alarm: an unknown id costs no storage.
    expect(await storageOf(stub(id))).toEqual({ tables: [], alarm: null });
  });

  it("refuses a WebSocket to a deleted instance, whose object holds no storage any more", async () => {
    const id = await start("test-waiter");
    expect((await storageOf(stub(id))).tables).toContain("instance");
    expect((await lifecycle(id, "terminate")).status).toBe(200);
    expect((await api(`/api/instances/${id}`, { method: "DELETE" })).status).toBe(204);
    const refused = await upgrade(id);
    expect(refused.status).toBe(404);
    expect(await refused.json()).toMatchObject({ type: "urn:durable-patterns:problem:no-such-instance", status: 404 });
    expect(await storageOf(stub(id))).toEqual({ tables: [], alarm: null });
  });

  it("refuses a request that is not a WebSocket upgrade with a 426", async () => {
    const response = await api("/api/instances/some-id/websocket");
    expect(response.status).toBe(426);
  });
});
