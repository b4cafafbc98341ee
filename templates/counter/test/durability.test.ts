/**
 * The value lives in SQLite, not in memory: it survives the object being evicted, and sockets
 * survive hibernation with their updates still flowing.
 */
import { env } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, connect, json, uniqueName } from "./helpers";

describe("eviction", () => {
  it("keeps the value when the object is evicted from memory", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}/increment`, json("POST", { by: 12 }));
    await evictDurableObject(env.COUNTER.getByName(name));
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 12 });
  });

  it("keeps counting from the stored value after eviction", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}/increment`, json("POST", { by: 2 }));
    await evictDurableObject(env.COUNTER.getByName(name));
    const response = await api(`/api/counters/${name}/increment`, { method: "POST" });
    expect(await response.json()).toEqual({ name, value: 3 });
  });
});

describe("hibernation", () => {
  it("keeps sockets connected while the object hibernates, and they still get updates", async () => {
    const name = uniqueName();
    const client = await connect(name);
    expect(await client.next()).toEqual({ type: "value", value: 0 });
    // Eviction with the default `webSockets: "hibernate"` is what the runtime does to an idle
    // object: the instance is gone, the connections are kept by the runtime.
    await evictDurableObject(env.COUNTER.getByName(name));
    await api(`/api/counters/${name}/increment`, json("POST", { by: 4 }));
    expect(await client.next()).toEqual({ type: "value", value: 4 });
  });

  it("wakes up for a message from a hibernated socket and applies it", async () => {
    const name = uniqueName();
    const client = await connect(name);
    await client.next();
    await evictDurableObject(env.COUNTER.getByName(name));
    client.send({ type: "increment", by: 6 });
    expect(await client.next()).toEqual({ type: "value", value: 6 });
  });

  it("closes sockets with a code the client can act on when the object is evicted with closing", async () => {
    const name = uniqueName();
    const client = await connect(name);
    await client.next();
    await evictDurableObject(env.COUNTER.getByName(name), { webSockets: "close" });
    const { code } = await client.closed;
    expect(code).not.toBe(1000);
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 0 });
  });
});
