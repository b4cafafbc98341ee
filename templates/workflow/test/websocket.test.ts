/**
 * Live progress: `GET /api/instances/:id/websocket` streams the instance's status and every step
 * change over a hibernatable WebSocket.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, connect, instance, run, sendEvent, start, stub } from "./helpers";

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

  it("refuses a request that is not a WebSocket upgrade with a 426", async () => {
    const response = await api("/api/instances/some-id/websocket");
    expect(response.status).toBe(426);
  });
});
