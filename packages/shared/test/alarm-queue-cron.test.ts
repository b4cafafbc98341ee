import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fixture } from "./alarm-queue-helpers";

/** Runs the cron task `fires` times, moving the fixture clock to each due time; returns the due times. */
async function fireTimes(stub: ReturnType<typeof fixture>, key: string, fires: number): Promise<string[]> {
  const times: string[] = [];
  for (let i = 0; i < fires; i++) {
    const task = await stub.get({ key });
    times.push(new Date(task!.due).toISOString());
    await stub.setNow(task!.due);
    await runDurableObjectAlarm(stub);
  }
  return times;
}

describe("cron tasks", () => {
  it('fires "0 2 * * *" in Europe/Berlin at 02:00 local, and just after the gap on the spring-forward day', async () => {
    const stub = fixture("cron-berlin");
    await stub.setNow(Date.parse("2026-03-27T12:00:00Z"));
    await stub.schedule(
      "record",
      { label: "berlin" },
      { cron: "0 2 * * *", timezone: "Europe/Berlin", key: "nightly" },
    );

    expect(await fireTimes(stub, "nightly", 3)).toEqual([
      "2026-03-28T01:00:00.000Z", // 02:00 CET (UTC+1)
      "2026-03-29T01:00:00.000Z", // 02:00 does not exist: 03:00 CEST, the first valid time after the gap
      "2026-03-30T00:00:00.000Z", // 02:00 CEST (UTC+2)
    ]);
    // The same row moved on each time, and its handler ran at each fire.
    expect((await stub.effects()).map((effect) => new Date(effect.at).toISOString())).toEqual([
      "2026-03-28T01:00:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:00:00.000Z",
    ]);
    await stub.cancel({ key: "nightly" });
  });

  it('fires "30 2 * * *" in America/New_York across the 2026-03-08 spring-forward', async () => {
    const stub = fixture("cron-new-york");
    await stub.setNow(Date.parse("2026-03-06T12:00:00Z"));
    await stub.schedule("record", { label: "ny" }, { cron: "30 2 * * *", timezone: "America/New_York", key: "ny" });

    expect(await fireTimes(stub, "ny", 3)).toEqual([
      "2026-03-07T07:30:00.000Z", // 02:30 EST (UTC-5)
      "2026-03-08T07:00:00.000Z", // 02:30 does not exist: 03:00 EDT
      "2026-03-09T06:30:00.000Z", // 02:30 EDT (UTC-4)
    ]);
    await stub.cancel({ key: "ny" });
  });

  it('fires "30 2 * * *" in Europe/Berlin once on the fall-back night, at the first 02:30', async () => {
    const stub = fixture("cron-fall-back");
    await stub.setNow(Date.parse("2026-10-24T12:00:00Z"));
    await stub.schedule("record", { label: "fall" }, { cron: "30 2 * * *", timezone: "Europe/Berlin", key: "fall" });

    expect(await fireTimes(stub, "fall", 2)).toEqual([
      "2026-10-25T00:30:00.000Z", // 02:30 CEST; the repeated 02:30 CET an hour later does not fire
      "2026-10-26T01:30:00.000Z",
    ]);
    await stub.cancel({ key: "fall" });
  });

  it("runs a cron task once after downtime, then at its next future time: no catch-up storm", async () => {
    const stub = fixture("cron-missed");
    await stub.setNow(Date.parse("2026-05-01T00:00:00Z"));
    await stub.schedule("record", { label: "hourly" }, { cron: "0 * * * *", key: "hourly" });

    // The object was not woken for five hours and ten minutes (five fires missed).
    await stub.setNow(Date.parse("2026-05-01T05:10:00Z"));
    await runDurableObjectAlarm(stub);

    expect(await stub.effects()).toHaveLength(1);
    expect(new Date((await stub.get({ key: "hourly" }))!.due).toISOString()).toBe("2026-05-01T06:00:00.000Z");
    await stub.cancel({ key: "hourly" });
  });

  it("refuses an unknown time zone and a malformed pattern when scheduling", async () => {
    const stub = fixture("cron-invalid");
    const badZone = await stub
      .schedule("record", { label: "x" }, { cron: "0 2 * * *", timezone: "Europe/Atlantis" })
      .then(
        () => null,
        (error: unknown) => (error as Error).message,
      );
    const badPattern = await stub.schedule("record", { label: "x" }, { cron: "every day" }).then(
      () => null,
      (error: unknown) => (error as Error).message,
    );
    expect(badZone).toBe('"Europe/Atlantis" is not an IANA time zone (for example "Europe/Berlin").');
    expect(badPattern).toMatch(/^"every day" is not a cron pattern/);
    expect(await stub.pending()).toBe(0);
  });
});
