/**
 * Scheduled resets: `POST /api/counters/:name/schedule` resets a counter on a cron pattern in a
 * time zone, through the shared alarm queue (the counter's one alarm).
 *
 * Alarms are fired by hand with `runDurableObjectAlarm` after moving the object's queue clock past
 * the due time: waiting for 03:00 in Berlin is not an option in a test, and the queue only runs
 * tasks whose time has come.
 */
import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Counter } from "../src/counter-object";
import type { Schedule } from "../src/protocol";
import { api, connect, fireAt, json, uniqueName } from "./helpers";

type Created = Schedule & { name: string };

async function schedule(name: string, body: unknown) {
  return api(`/api/counters/${name}/schedule`, json("POST", body));
}

async function listed(name: string): Promise<Schedule[]> {
  return ((await (await api(`/api/counters/${name}/schedule`)).json()) as { schedules: Schedule[] }).schedules;
}

/** The local wall-clock time of an instant in a time zone, e.g. "03:00". */
function localTime(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(
    new Date(iso),
  );
}

describe("POST /api/counters/:name/schedule", () => {
  it("creates a schedule whose next fire is at the given local time in the given time zone", async () => {
    const name = uniqueName();
    const response = await schedule(name, { cron: "0 3 * * *", timezone: "Europe/Berlin" });
    expect(response.status).toBe(201);
    const created = (await response.json()) as Created;
    expect(created).toEqual({
      name,
      id: expect.any(Number),
      cron: "0 3 * * *",
      timezone: "Europe/Berlin",
      value: 0,
      next: expect.any(String),
    });
    expect(localTime(created.next, "Europe/Berlin")).toBe("03:00");
    const untilNext = Date.parse(created.next) - Date.now();
    expect(untilNext).toBeGreaterThan(0);
    expect(untilNext).toBeLessThanOrEqual(25 * 3600_000);
  });

  it("uses UTC and a reset to 0 when the time zone and value are left out", async () => {
    const name = uniqueName();
    const created = (await (await schedule(name, { cron: "30 12 * * *" })).json()) as Created;
    expect(created).toMatchObject({ timezone: "UTC", value: 0 });
    expect(new Date(created.next).toISOString()).toMatch(/T12:30:00\.000Z$/);
  });

  it("treats the same pattern, time zone and value as the same schedule", async () => {
    const name = uniqueName();
    const first = (await (await schedule(name, { cron: "0 0 * * 1", timezone: "Asia/Tokyo" })).json()) as Created;
    const again = (await (await schedule(name, { cron: "0 0 * * 1", timezone: "Asia/Tokyo" })).json()) as Created;
    expect(again.id).toBe(first.id);
    expect(await listed(name)).toHaveLength(1);
  });
});

describe("a schedule firing", () => {
  it("resets the counter to the scheduled value and tells every watcher", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`, json("PUT", { value: 41 }));
    const created = (await (
      await schedule(name, { cron: "0 3 * * *", timezone: "Europe/Berlin", value: 7 })
    ).json()) as Created;
    const watcher = await connect(name);
    expect(await watcher.next()).toEqual({ type: "value", value: 41 });

    expect(await fireAt(name, Date.parse(created.next) + 1)).toBe(true);

    expect(await watcher.next()).toEqual({ type: "value", value: 7 });
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 7 });
  });

  it("moves on to the next occurrence, a day later, after it fired", async () => {
    const name = uniqueName();
    const created = (await (await schedule(name, { cron: "0 3 * * *", timezone: "Europe/Berlin" })).json()) as Created;
    await fireAt(name, Date.parse(created.next) + 1);
    const [after] = await listed(name);
    expect(after!.id).toBe(created.id);
    expect(localTime(after!.next, "Europe/Berlin")).toBe("03:00");
    const gap = Date.parse(after!.next) - Date.parse(created.next);
    // 24 hours, or 23/25 across a daylight-saving change.
    expect([23, 24, 25].map((h) => h * 3600_000)).toContain(gap);
  });

  it("does nothing when the alarm fires before the schedule is due", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`, json("PUT", { value: 5 }));
    const created = (await (await schedule(name, { cron: "0 3 * * *" })).json()) as Created;
    await fireAt(name, Date.parse(created.next) - 60_000);
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 5 });
  });

  it("survives eviction: the schedule is stored, not held in memory", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`, json("PUT", { value: 5 }));
    const created = (await (await schedule(name, { cron: "15 * * * *" })).json()) as Created;
    await evictDurableObject(env.COUNTER.getByName(name));
    expect(await listed(name)).toEqual([
      { id: created.id, cron: "15 * * * *", timezone: "UTC", value: 0, next: created.next },
    ]);
    await fireAt(name, Date.parse(created.next) + 1);
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 0 });
  });
});

describe("GET and DELETE /api/counters/:name/schedule", () => {
  it("lists schedules soonest first", async () => {
    const name = uniqueName();
    await schedule(name, { cron: "0 23 * * *" });
    await schedule(name, { cron: "0 1 * * *" });
    const schedules = await listed(name);
    expect(schedules).toHaveLength(2);
    expect(Date.parse(schedules[0]!.next)).toBeLessThan(Date.parse(schedules[1]!.next));
  });

  it("lists nothing for a counter without schedules", async () => {
    expect(await listed(uniqueName())).toEqual([]);
  });

  it("cancels a schedule, and with none left the alarm is removed", async () => {
    const name = uniqueName();
    const created = (await (await schedule(name, { cron: "0 3 * * *" })).json()) as Created;
    const response = await api(`/api/counters/${name}/schedule/${created.id}`, { method: "DELETE" });
    expect(response.status).toBe(204);
    expect(await listed(name)).toEqual([]);
    expect(await runDurableObjectAlarm(env.COUNTER.getByName(name))).toBe(false);
  });

  it("answers 404 for a schedule that does not exist", async () => {
    const name = uniqueName();
    const response = await api(`/api/counters/${name}/schedule/12345`, { method: "DELETE" });
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("bad schedules", () => {
  it.each([
    ["an invalid minute", { cron: "61 * * * *" }, "invalid-schedule"],
    ["a seconds field, which would wake the object every second", { cron: "* * * * * *" }, "invalid-body"],
    ["an unknown time zone", { cron: "0 3 * * *", timezone: "Mars/Olympus_Mons" }, "invalid-schedule"],
    ["a date that never comes", { cron: "0 0 30 2 *" }, "invalid-schedule"],
    ["a value beyond 2^53 - 1", { cron: "0 3 * * *", value: 2 ** 53 }, "invalid-body"],
    ["an unknown field", { cron: "0 3 * * *", every: "day" }, "invalid-body"],
  ])("refuses %s with 422 and schedules nothing", async (_, body, type) => {
    const name = uniqueName();
    const response = await schedule(name, body);
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ type: `urn:durable-patterns:problem:${type}`, status: 422 });
    expect(await listed(name)).toEqual([]);
  });

  it("refuses an 11th schedule with 409", async () => {
    const name = uniqueName();
    for (let minute = 0; minute < 10; minute++) {
      expect((await schedule(name, { cron: `${minute} 4 * * *` })).status).toBe(201);
    }
    const response = await schedule(name, { cron: "59 4 * * *" });
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ limit: 10 });
    expect(await listed(name)).toHaveLength(10);
  });

  it("refuses a schedule id that is not a positive integer with 400", async () => {
    const response = await api(`/api/counters/${uniqueName()}/schedule/abc`, { method: "DELETE" });
    expect(response.status).toBe(400);
  });
});

describe("cost of scheduling", () => {
  it("a counter that never schedules anything has no alarm-queue tables", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}/increment`, { method: "POST" });
    const tables = await runInDurableObject(env.COUNTER.getByName(name), (_counter: Counter, state) =>
      state.storage.sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' ORDER BY name",
        )
        .toArray()
        .map((row) => row.name),
    );
    expect(tables).toEqual(["_migrations", "counter"]);
  });
});
