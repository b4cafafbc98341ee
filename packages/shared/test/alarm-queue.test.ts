import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PayloadTooLargeError } from "../src";
import type { AlarmFixture } from "./fixtures/alarm-fixture";
import { HOUR, MINUTE, T0, fixture } from "./alarm-queue-helpers";

describe("scheduling and running", () => {
  it("runs due tasks in due-time order when the alarm fires", async () => {
    const stub = fixture("due-order");
    await stub.schedule("record", { label: "third" }, { at: T0 + 3 * HOUR });
    await stub.schedule("record", { label: "first" }, { at: new Date(T0 + HOUR) });
    await stub.schedule("record", { label: "second" }, { delay: 2 * HOUR });

    await stub.setNow(T0 + 3 * HOUR);
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    expect((await stub.effects()).map((effect) => effect.label)).toEqual(["first", "second", "third"]);
    expect(await stub.pending()).toBe(0);
    const [report] = await stub.runs();
    expect(report).toMatchObject({ ran: 3, succeeded: 3, failed: 0, deadLettered: 0, nextAlarm: null });
    // Nothing left: the queue set no new alarm.
    expect(await stub.platformAlarm()).toBeNull();
  });

  it("runs only the tasks that are due and re-arms the alarm for the next one", async () => {
    const stub = fixture("partial");
    await stub.schedule("record", { label: "now" }, { at: T0 + HOUR });
    await stub.schedule("record", { label: "later" }, { at: T0 + 5 * HOUR });

    await stub.setNow(T0 + 2 * HOUR);
    await runDurableObjectAlarm(stub);

    expect((await stub.effects()).map((effect) => effect.label)).toEqual(["now"]);
    expect((await stub.runs())[0]).toMatchObject({ ran: 1, succeeded: 1, nextAlarm: T0 + 5 * HOUR });
    expect((await stub.stats()).armedAt).toBe(T0 + 5 * HOUR);
    expect(await stub.platformAlarm()).not.toBeNull();
    await stub.setNow(T0 + 5 * HOUR);
    await runDurableObjectAlarm(stub);
    expect((await stub.effects()).map((effect) => effect.label)).toEqual(["now", "later"]);
  });

  it("keeps tasks and the clock across eviction: nothing lives only in memory", async () => {
    const stub = fixture("eviction");
    await stub.schedule("record", { label: "survivor" }, { at: T0 + HOUR, key: "survivor" });
    await evictDurableObject(stub);

    await stub.setNow(T0 + HOUR);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.effects()).map((effect) => effect.label)).toEqual(["survivor"]);
  });
});

describe("tasks scheduled while a run is in progress", () => {
  it("runs a task that reschedules itself for now once per run, not once per batch slot", async () => {
    const stub = fixture("self-rescheduling");
    await stub.schedule("again", { label: "poll" }, { at: T0, key: "poll" });

    await stub.setNow(T0);
    await runDurableObjectAlarm(stub);

    // The clock did not move during the run; the rescheduled task waits for the next one.
    expect((await stub.effects()).map((effect) => effect.label)).toEqual(["poll"]);
    expect((await stub.runs())[0]).toMatchObject({ ran: 1, succeeded: 1, nextAlarm: T0 + 1 });
    expect((await stub.get({ key: "poll" }))?.due).toBe(T0 + 1);

    await stub.setNow(T0 + 1);
    await runDurableObjectAlarm(stub);
    expect((await stub.effects()).map((effect) => effect.label)).toEqual(["poll", "poll"]);
  });
});

describe("keys, cancel and list", () => {
  it("runs a task rescheduled by key once, with the last payload and time", async () => {
    const stub = fixture("key");
    const first = await stub.schedule("record", { label: "v1" }, { at: T0 + HOUR, key: "daily-report" });
    const second = await stub.schedule("record", { label: "v2" }, { at: T0 + 2 * HOUR, key: "daily-report" });

    expect(second.id).toBe(first.id);
    expect((await stub.list()).items).toMatchObject([
      { key: "daily-report", due: T0 + 2 * HOUR, payload: { label: "v2" } },
    ]);
    await stub.setNow(T0 + 2 * HOUR);
    await runDurableObjectAlarm(stub);
    expect((await stub.effects()).map((effect) => effect.label)).toEqual(["v2"]);
  });

  it("cancels a task by id and another by key", async () => {
    const stub = fixture("cancel");
    const byId = await stub.schedule("record", { label: "by id" }, { at: T0 + HOUR });
    await stub.schedule("record", { label: "by key" }, { at: T0 + HOUR, key: "k" });
    await stub.schedule("record", { label: "kept" }, { at: T0 + HOUR });

    expect(await stub.cancel({ id: byId.id })).toBe(true);
    expect(await stub.cancel({ key: "k" })).toBe(true);
    expect(await stub.cancel({ key: "k" })).toBe(false);
    expect(await stub.get({ key: "k" })).toBeNull();

    await stub.setNow(T0 + HOUR);
    await runDurableObjectAlarm(stub);
    expect((await stub.effects()).map((effect) => effect.label)).toEqual(["kept"]);
  });

  it("lists pending tasks page by page in due-time order", async () => {
    const stub = fixture("list");
    for (const [label, offset] of [
      ["c", 3],
      ["a", 1],
      ["d", 4],
      ["b", 2],
      ["e", 5],
    ] as const) {
      await stub.schedule("record", { label }, { at: T0 + offset * HOUR });
    }
    const first = await stub.list({ limit: 2 });
    const second = await stub.list({ limit: 2, after: first.next });
    const third = await stub.list({ limit: 2, after: second.next });

    expect(
      [first, second, third].map((page) => page.items.map((task) => (task.payload as { label: string }).label)),
    ).toEqual([["a", "b"], ["c", "d"], ["e"]]);
    expect(third.next).toBeNull();
    // Leave no alarm behind for the runtime to fire later.
    await stub.setNow(T0 + 5 * HOUR);
    await runDurableObjectAlarm(stub);
  });
});

describe("arming the one alarm", () => {
  it("calls setAlarm only when the earliest due time changes", async () => {
    const stub = fixture("alarm-writes");
    await stub.schedule("record", { label: "1h" }, { at: T0 + HOUR, key: "1h" });
    expect(await stub.stats()).toEqual({ alarmWrites: 1, armedAt: T0 + HOUR });

    // Later than the earliest: the alarm stays where it is.
    await stub.schedule("record", { label: "2h" }, { at: T0 + 2 * HOUR, key: "2h" });
    await stub.schedule("record", { label: "3h" }, { at: T0 + 3 * HOUR });
    await stub.cancel({ key: "2h" });
    expect(await stub.stats()).toEqual({ alarmWrites: 1, armedAt: T0 + HOUR });

    // Earlier: moved forward. Cancelling the earliest: moved back.
    await stub.schedule("record", { label: "30m" }, { at: T0 + 30 * MINUTE, key: "30m" });
    expect(await stub.stats()).toEqual({ alarmWrites: 2, armedAt: T0 + 30 * MINUTE });
    await stub.cancel({ key: "30m" });
    expect(await stub.stats()).toEqual({ alarmWrites: 3, armedAt: T0 + HOUR });

    await stub.setNow(T0 + 3 * HOUR);
    await runDurableObjectAlarm(stub);
    // The alarm that fired was spent by the platform; with nothing left no write is needed.
    expect(await stub.stats()).toEqual({ alarmWrites: 3, armedAt: null });
  });

  it("deletes the alarm when the last task is cancelled", async () => {
    const stub = fixture("delete-alarm");
    await stub.schedule("record", { label: "only" }, { at: T0 + HOUR, key: "only" });
    expect(await stub.platformAlarm()).not.toBeNull();

    await stub.cancel({ key: "only" });
    expect(await stub.platformAlarm()).toBeNull();
    expect(await stub.stats()).toEqual({ alarmWrites: 2, armedAt: null });
  });

  it("schedules a new task for 4 rows written, replaces one by key for 2, and writes the alarm only when the earliest due time moves", async () => {
    const stub = fixture("schedule-cost");
    const moves = await stub.measureSchedule("record", { label: "first" }, { at: T0 + HOUR, key: "first" });
    const stays = await stub.measureSchedule("record", { label: "second" }, { at: T0 + 2 * HOUR });
    const replaces = await stub.measureSchedule("record", { label: "first again" }, { at: T0 + HOUR, key: "first" });

    // A new task: the row and its two index entries (due time, key), and the state row (the next
    // id, and the armed time when the alarm moves): 4 written either way. Read: the state row,
    // the insert's id and key checks, the earliest due time, the state row's update.
    expect(moves.cost).toEqual({ statements: 4, rowsRead: 5, rowsWritten: 4 });
    expect(stays.cost).toEqual({ statements: 4, rowsRead: 5, rowsWritten: 4 });
    // Replaced by key at the same time: the row is updated in place, its id kept; nothing else.
    expect(replaces.cost).toEqual({ statements: 3, rowsRead: 4, rowsWritten: 2 });
    expect((await stub.stats()).alarmWrites).toBe(1);
    expect((await stub.storageCalls()).setAlarm).toBe(1);
    await stub.setNow(T0 + 2 * HOUR);
    await runDurableObjectAlarm(stub);
  });
});

describe("payload limits", () => {
  it("refuses a payload over 64 KiB with PayloadTooLargeError naming the size and the limit", async () => {
    const stub = fixture("payload");
    await runInDurableObject(stub, (instance: AlarmFixture) => {
      const oversized = { label: "x".repeat(70_000) };
      let caught: unknown;
      try {
        instance.queue.schedule("record", oversized, { delay: MINUTE });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(PayloadTooLargeError);
      expect(caught).toMatchObject({ size: 70_012, limit: 65_536 });
      expect((caught as Error).message).toBe(
        'The payload of task "record" is 70012 bytes of JSON, over the limit of 65536 bytes.',
      );
    });
    // Over RPC the caller sees the same message; nothing was stored and no alarm was set.
    const rpcError = await stub.schedule("record", { label: "x".repeat(70_000) }, { delay: MINUTE }).then(
      () => null,
      (error: unknown) => error,
    );
    expect((rpcError as Error).message).toContain("70012 bytes of JSON, over the limit of 65536 bytes");
    expect(await stub.pending()).toBe(0);
    expect(await stub.platformAlarm()).toBeNull();
  });
});
