import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uniqueName } from "../src/testing";

const fixture = (name: string) => env.SQL_OBJECT_FIXTURE.getByName(uniqueName(name));

describe("SqlDurableObject: the queue every app object builds on first use", () => {
  it("creates no table at all for an object that never schedules anything", async () => {
    const stub = fixture("idle");
    expect(await stub.queueExists()).toBe(false);
    expect(await stub.notes()).toEqual([]);
    expect(await stub.tables()).toEqual([]);
  });

  it("runs nothing and creates nothing when an alarm fires on an object without the queue's tables", async () => {
    const stub = fixture("stray-alarm");
    // An alarm the queue did not set (say, left from before a purge that failed half-way).
    // eslint-disable-next-line durable/set-alarm-only-in-alarm-queue -- the stray alarm this test is about
    await runInDurableObject(stub, (_object, state) => state.storage.setAlarm(Date.now()));
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.tables()).toEqual([]);
    expect(await stub.queueExists()).toBe(false);
  });

  it("builds the queue on its first schedule and runs the task when the alarm fires", async () => {
    const stub = fixture("first-use");
    await stub.schedule("first", 0);
    expect(await stub.queueExists()).toBe(true);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.notes()).toEqual(["first"]);
  });

  it("builds the queue again after the transaction that first built it rolled back", async () => {
    const stub = fixture("rolled-back");
    expect(await stub.scheduleThenFail("lost")).toMatch(/injected/);
    // The queue's tables were created in that transaction and went with it; memory agrees.
    expect(await stub.tables()).toEqual([]);
    expect(await stub.queueExists()).toBe(false);
    await stub.schedule("kept", 0);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.notes()).toEqual(["kept"]);
  });

  it("builds the queue again after a purge deleted its tables", async () => {
    const stub = fixture("purged");
    await stub.schedule("before", 3_600_000);
    await stub.purge();
    expect(await stub.queueExists()).toBe(false);
    expect(await stub.tables()).toEqual([]);
    await stub.schedule("after", 0);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.notes()).toEqual(["after"]);
  });
});
