/**
 * The idle purge: 30 minutes after the last message and the last departure, with nobody
 * connected, everything the room stored is deleted (messages, count, tables, alarm).
 *
 * A message schedules nothing. One keyed "purge" task in the alarm queue is (re)scheduled when a
 * room is created and when its last socket leaves; when it fires it checks whether the room is
 * still idle and comes back later if not. These tests set the room's clock and run the alarm by
 * hand (`runDurableObjectAlarm`) instead of waiting 30 real minutes.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, join, roomStub, say, setClock, uniqueRoom } from "./helpers";

const MINUTE = 60_000;

/** Tables left in the room's SQLite database, and whether an alarm is set. */
function storageOf(room: string) {
  return runInDurableObject(roomStub(room), async (_instance, state) => ({
    tables: state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
      )
      .toArray()
      .map((row) => row.name),
    alarm: await state.storage.getAlarm(),
  }));
}

async function count(room: string) {
  return (await (await api(`/api/rooms/${room}/count`)).json<{ count: number }>()).count;
}

describe("idle purge", () => {
  it("deletes every message, the count, the tables and the alarm 30 minutes after the last person left", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    await setClock(room, start);
    const { client } = await join(room);
    for (const text of ["soon", "gone"]) await say(client, text);
    await client.close();

    await setClock(room, start + 30 * MINUTE);
    expect(await runDurableObjectAlarm(roomStub(room))).toBe(true);
    expect(await storageOf(room)).toEqual({ tables: [], alarm: null });
    expect(await count(room)).toBe(0);
  });

  it("keeps the room when the alarm fires before 30 idle minutes have passed", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    await setClock(room, start);
    const { client } = await join(room);
    await say(client, "still fresh");
    await client.close();

    // The alarm runs early (as a retried or early-scheduled alarm could): the task is not due yet.
    await setClock(room, start + 29 * MINUTE);
    await runDurableObjectAlarm(roomStub(room));
    expect(await count(room)).toBe(1);
  });

  it("never purges while someone is connected, however long they stay silent", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    await setClock(room, start);
    const { client } = await join(room);
    await say(client, "anyone?");

    await setClock(room, start + 3 * 60 * MINUTE);
    expect(await runDurableObjectAlarm(roomStub(room))).toBe(true);
    expect(await count(room)).toBe(1);
    // It checked, found someone, and set itself for 30 minutes later.
    expect((await storageOf(room)).alarm).not.toBeNull();
    await client.close();
  });

  it("never purges a room people are chatting in", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    await setClock(room, start);
    const { client } = await join(room);
    for (let minute = 0; minute <= 60; minute += 10) {
      await setClock(room, start + minute * MINUTE);
      await say(client, `minute ${minute}`);
      await runDurableObjectAlarm(roomStub(room));
    }
    expect(await count(room)).toBe(7);
    await client.close();
  });

  it("counts the 30 minutes from the last departure: someone who comes back and leaves again restarts them", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    await setClock(room, start);
    const first = await join(room);
    await say(first.client, "hello");
    await first.client.close(); // purge due at start + 30 min

    await setClock(room, start + 20 * MINUTE);
    const second = await join(room);
    await second.client.close(); // purge moves to start + 50 min

    await setClock(room, start + 35 * MINUTE);
    await runDurableObjectAlarm(roomStub(room));
    expect(await count(room)).toBe(1);

    await setClock(room, start + 50 * MINUTE);
    expect(await runDurableObjectAlarm(roomStub(room))).toBe(true);
    expect((await storageOf(room)).tables).toEqual([]);
  });

  it("also cleans up a room that was only looked at, never joined", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    expect(await count(room)).toBe(0); // creates the room's tables, and with them its purge task
    await setClock(room, start + 31 * MINUTE);
    expect(await runDurableObjectAlarm(roomStub(room))).toBe(true);
    expect(await storageOf(room)).toEqual({ tables: [], alarm: null });
  });

  it("starts a purged room over: new epoch, ids from 1, a count from 0, and its own purge", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    await setClock(room, start);
    const before = await join(room);
    for (const text of ["old 1", "old 2"]) await say(before.client, text);
    await before.client.close();
    await setClock(room, start + 30 * MINUTE);
    await runDurableObjectAlarm(roomStub(room));

    const after = await join(room, { name: "Ada", after: 2, epoch: before.welcome.epoch });
    expect(after.welcome).toMatchObject({ history: [], reset: true, truncated: false });
    expect(after.welcome.epoch).not.toBe(before.welcome.epoch);
    expect(await say(after.client, "new")).toMatchObject({ id: 1, text: "new" });
    expect(await count(room)).toBe(1);
    expect((await storageOf(room)).alarm).not.toBeNull();
    await after.client.close();
  });
});
