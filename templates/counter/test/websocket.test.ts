/**
 * GET /api/counters/:name/websocket: live values for every watcher, changes from clients, and
 * refusal of bad frames. Sockets use the hibernation API, so an idle counter costs nothing.
 */
import { describe, expect, it } from "vitest";
import { api, connect, json, uniqueName, type Client } from "./helpers";

/** Opens one socket per name given, in order, and reads past each one's greeting (the current value). */
async function watchers<Names extends string[]>(...names: Names): Promise<{ [K in keyof Names]: Client }> {
  const clients: Client[] = [];
  for (const name of names) clients.push(await connect(name));
  for (const client of clients) await client.next();
  return clients as { [K in keyof Names]: Client };
}

describe("connecting", () => {
  it("greets a new socket with the current value", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`, json("PUT", { value: 17 }));
    const client = await connect(name);
    expect(await client.next()).toEqual({ type: "value", value: 17 });
  });

  it("answers the text frame ping with pong", async () => {
    const [client] = await watchers(uniqueName());
    client.send("ping");
    expect(await client.next()).toBe("pong");
  });
});

describe("live updates", () => {
  it("sends every watcher the new value after a change through HTTP", async () => {
    const name = uniqueName();
    const [a, b] = await watchers(name, name);
    await api(`/api/counters/${name}/increment`, json("POST", { by: 3 }));
    expect(await a.next()).toEqual({ type: "value", value: 3 });
    expect(await b.next()).toEqual({ type: "value", value: 3 });
  });

  it("sends watchers the value after PUT and DELETE too", async () => {
    const name = uniqueName();
    const client = await connect(name);
    await client.next();
    await api(`/api/counters/${name}`, json("PUT", { value: 99 }));
    await api(`/api/counters/${name}`, { method: "DELETE" });
    expect(await client.next()).toEqual({ type: "value", value: 99 });
    expect(await client.next()).toEqual({ type: "value", value: 0 });
  });

  it("does not send watchers of other counters anything", async () => {
    const [watched, other] = [uniqueName(), uniqueName()];
    const client = await connect(watched);
    await client.next();
    await api(`/api/counters/${other}/increment`, { method: "POST" });
    await api(`/api/counters/${watched}/increment`, json("POST", { by: 2 }));
    expect(await client.next()).toEqual({ type: "value", value: 2 });
  });
});

describe("client messages", () => {
  it("increments and decrements, and every socket (the sender too) gets the value", async () => {
    const name = uniqueName();
    const [sender, watcher] = await watchers(name, name);
    sender.send({ type: "increment", by: 10 });
    sender.send({ type: "decrement" });
    expect(await sender.next()).toEqual({ type: "value", value: 10 });
    expect(await sender.next()).toEqual({ type: "value", value: 9 });
    expect(await watcher.next()).toEqual({ type: "value", value: 10 });
    expect(await watcher.next()).toEqual({ type: "value", value: 9 });
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 9 });
  });
});

describe("bad frames", () => {
  /** Sends a bad frame, then a good one, so the test proves the bad one changed nothing. */
  async function afterBadFrame(frame: string | ArrayBuffer) {
    const name = uniqueName();
    await api(`/api/counters/${name}`, json("PUT", { value: 5 }));
    const client = await connect(name);
    await client.next();
    client.socket.send(frame);
    return { name, client };
  }

  it("answers malformed JSON with an error message and keeps the socket open", async () => {
    const { name, client } = await afterBadFrame("{type: increment");
    expect(await client.next()).toEqual({ type: "error", code: "malformed_json", detail: expect.any(String) });
    client.send({ type: "increment" });
    expect(await client.next()).toEqual({ type: "value", value: 6 });
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 6 });
  });

  it.each([
    ["a fractional step", { type: "increment", by: 0.5 }],
    ["a negative step", { type: "decrement", by: -1 }],
    ["an unknown field", { type: "increment", by: 1, extra: 1 }],
  ])("answers %s with invalid_message and changes nothing", async (_, message) => {
    const { name, client } = await afterBadFrame(JSON.stringify(message));
    expect(await client.next()).toMatchObject({ type: "error", code: "invalid_message" });
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 5 });
  });

  it("answers an increment past 2^53 - 1 with out_of_range and changes nothing", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`, json("PUT", { value: Number.MAX_SAFE_INTEGER }));
    const client = await connect(name);
    await client.next();
    client.send({ type: "increment" });
    expect(await client.next()).toMatchObject({ type: "error", code: "out_of_range" });
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: Number.MAX_SAFE_INTEGER });
  });

  it("closes with 1003 on an unknown message type", async () => {
    const { name, client } = await afterBadFrame(JSON.stringify({ type: "multiply", by: 2 }));
    expect((await client.closed).code).toBe(1003);
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 5 });
  });

  it("closes with 1003 on a binary frame", async () => {
    const { client } = await afterBadFrame(new TextEncoder().encode('{"type":"increment"}').buffer as ArrayBuffer);
    expect((await client.closed).code).toBe(1003);
  });

  it("closes with 1009 on a frame over 1 KiB", async () => {
    const { name, client } = await afterBadFrame(JSON.stringify({ type: "increment", pad: "x".repeat(2000) }));
    expect((await client.closed).code).toBe(1009);
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 5 });
  });
});

describe("closing", () => {
  it("completes the closing handshake with the client's code", async () => {
    const client = await connect(uniqueName());
    await client.next();
    client.socket.close(4000, "bye");
    expect(await client.closed).toEqual({ code: 4000, reason: "bye", wasClean: true });
  });
});
