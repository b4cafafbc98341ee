/**
 * The idle purge: 30 minutes after the last message and the last departure, with nobody
 * connected, everything the room stored is deleted (messages, count, tables, alarm).
 *
 * A message schedules nothing. One keyed "purge" task in the alarm queue is (re)scheduled when a
 * room is created and when its last socket leaves; when it fires it checks whether the room is
 * still idle and comes back later if not. These tests set the room's clock and run the alarm by
 * hand (`runDurableObjectAlarm`) instead of waiting 30 real minutes.
 */
import { injectDeleteAllFault, once, storageOf } from "../src/shared/testing";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChatRoom } from "../src/chat-room-object";
import { IDLE_PURGE_MS, PURGE_RETRY_MS } from "../src/protocol";
import { api, countOf, join, joinRoomWithClock, roomStub, say, setClock, uniqueRoom } from "./helpers";

const MINUTE = 60_000;

/** A room Ada joined at `start`, said `texts` in and left: its 30 idle minutes run from `start`. */
async function roomLeftAfterSaying(...texts: string[]) {
  const { room, start, client, welcome } = await joinRoomWithClock();
  for (const text of texts) await say(client, text);
  await client.close();
  return { room, start, welcome };
}

describe("idle purge", () => {
  it("deletes every message, the count, the tables and the alarm 30 minutes after the last person left", async () => {
    const { room, start } = await roomLeftAfterSaying("soon", "gone");

    await setClock(room, start + 30 * MINUTE);
    expect(await runDurableObjectAlarm(roomStub(room))).toBe(true);
    expect(await storageOf(roomStub(room))).toEqual({ tables: [], alarm: null });
    expect(await countOf(room)).toBe(0);
  });

  it("keeps the room when the alarm fires before 30 idle minutes have passed", async () => {
    const { room, start } = await roomLeftAfterSaying("still fresh");

    // The alarm runs early (as a retried or early-scheduled alarm could): the task is not due yet.
    await setClock(room, start + 29 * MINUTE);
    await runDurableObjectAlarm(roomStub(room));
    expect(await countOf(room)).toBe(1);
  });

  it("never purges while someone is connected, however long they stay silent", async () => {
    const { room, start, client } = await joinRoomWithClock();
    await say(client, "anyone?");

    await setClock(room, start + 3 * 60 * MINUTE);
    expect(await runDurableObjectAlarm(roomStub(room))).toBe(true);
    expect(await countOf(room)).toBe(1);
    // It checked, found someone, and set itself for 30 minutes later.
    expect((await storageOf(roomStub(room))).alarm).not.toBeNull();
    await client.close();
  });

  it("never purges a room people are chatting in", async () => {
    const { room, start, client } = await joinRoomWithClock();
    for (let minute = 0; minute <= 60; minute += 10) {
      await setClock(room, start + minute * MINUTE);
      await say(client, `minute ${minute}`);
      await runDurableObjectAlarm(roomStub(room));
    }
    expect(await countOf(room)).toBe(7);
    await client.close();
  });

  it("counts the 30 minutes from the last departure: someone who comes back and leaves again restarts them", async () => {
    const { room, start } = await roomLeftAfterSaying("hello"); // purge due at start + 30 min

    await setClock(room, start + 20 * MINUTE);
    const second = await join(room);
    await second.client.close(); // purge moves to start + 50 min

    await setClock(room, start + 35 * MINUTE);
    await runDurableObjectAlarm(roomStub(room));
    expect(await countOf(room)).toBe(1);

    await setClock(room, start + 50 * MINUTE);
    expect(await runDurableObjectAlarm(roomStub(room))).toBe(true);
    expect((await storageOf(roomStub(room))).tables).toEqual([]);
  });

  it("also cleans up a room that was only looked at, never joined", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    expect(await countOf(room)).toBe(0); // creates the room's tables, and with them its purge task
    await setClock(room, start + 31 * MINUTE);
    expect(await runDurableObjectAlarm(roomStub(room))).toBe(true);
    expect(await storageOf(roomStub(room))).toEqual({ tables: [], alarm: null });
  });

  it("starts a purged room over: new epoch, ids from 1, a count from 0, and its own purge", async () => {
    const { room, start, welcome: before } = await roomLeftAfterSaying("old 1", "old 2");
    await setClock(room, start + 30 * MINUTE);
    await runDurableObjectAlarm(roomStub(room));

    const after = await join(room, { name: "Ada", after: 2, epoch: before.epoch });
    expect(after.welcome).toMatchObject({ history: [], reset: true, truncated: false });
    expect(after.welcome.epoch).not.toBe(before.epoch);
    expect(await say(after.client, "new")).toMatchObject({ id: 1, text: "new" });
    expect(await countOf(room)).toBe(1);
    expect((await storageOf(roomStub(room))).alarm).not.toBeNull();
    await after.client.close();
  });
});

/**
 * Makes the room's next `deleteAll()` throw, as a storage failure would. The instance keeps the
 * patch until it is evicted; only the first call after this one fails.
 */
function failNextDeleteAll(room: string) {
  return runInDurableObject(roomStub(room), (_instance, state) => injectDeleteAllFault(state.storage, once()));
}

/** Calls the object's alarm() as the platform does: first run, or a retry after a failed one. */
function fireAlarm(room: string, retryCount = 0) {
  return runInDurableObject(roomStub(room), (instance: ChatRoom) =>
    instance.alarm({ retryCount, isRetry: retryCount > 0, scheduledTime: Date.now() }),
  );
}

async function messagesOf(room: string) {
  return (await (await api(`/api/rooms/${room}/messages`)).json<{ messages: { id: number; text: string }[] }>())
    .messages;
}

describe("a purge whose deleteAll() fails", () => {
  /** A room emptied at `start`, whose purge fires 30 minutes later and fails in deleteAll(). */
  async function failedPurge() {
    const { room, start } = await roomLeftAfterSaying("before the purge");
    await setClock(room, start + IDLE_PURGE_MS);
    await failNextDeleteAll(room);
    // The platform calls alarm() (runDurableObjectAlarm would swallow the error); it throws.
    await expect(fireAlarm(room)).rejects.toThrow("injected: deleteAll failed");
    return { room, start };
  }

  it("keeps an acknowledged message when the platform retries the alarm after someone has joined", async () => {
    const { room } = await failedPurge();
    const { client, welcome } = await join(room, { name: "Grace" });
    expect(welcome.history.map((m) => m.text)).toEqual(["before the purge"]);
    const acknowledged = await say(client, "I am here");
    expect(acknowledged).toMatchObject({ id: 2, text: "I am here" });

    await fireAlarm(room, 1);
    expect(await countOf(room)).toBe(2);
    expect((await messagesOf(room)).map((m) => m.text)).toEqual(["I am here", "before the purge"]);
    // The room goes on: the sender's socket still works.
    expect(await say(client, "still here")).toMatchObject({ id: 3 });
    await client.close();
  });

  it("keeps an acknowledged message when the person who posted it has left again before the retry", async () => {
    const { room } = await failedPurge();
    const { client } = await join(room, { name: "Grace" });
    await say(client, "in and out");
    await client.close();

    await fireAlarm(room, 1);
    expect(await countOf(room)).toBe(2);
    // Their departure counts: the purge comes 30 minutes after it, not before.
    expect((await storageOf(roomStub(room))).tables).not.toEqual([]);
  });

  it("purges on the platform's retry once deleteAll() works again, if the room is still idle", async () => {
    const { room } = await failedPurge();
    await fireAlarm(room, 1);
    expect(await storageOf(roomStub(room))).toEqual({ tables: [], alarm: null });
  });

  it("stays scheduled after deleteAll() failed: the room is purged later even if the object restarted", async () => {
    const { room, start } = await failedPurge();
    // A restart forgets everything in memory; the purge must be in storage to survive it.
    await evictDurableObject(roomStub(room));
    const { alarm } = await storageOf(roomStub(room));
    expect(alarm).not.toBeNull();
    await setClock(room, start + IDLE_PURGE_MS + PURGE_RETRY_MS);
    expect(await runDurableObjectAlarm(roomStub(room))).toBe(true);
    expect(await storageOf(roomStub(room))).toEqual({ tables: [], alarm: null });
  });
});
