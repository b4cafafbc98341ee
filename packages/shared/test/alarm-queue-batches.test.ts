import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HOUR, SECOND, T0, drain, fixture } from "./alarm-queue-helpers";

describe("batches and budgets", () => {
  it("drains 10,000 due tasks in 10 runs of 1,000, in due order", async () => {
    const stub = fixture("ten-thousand");
    const cost = await stub.scheduleRecords(10_000, T0 + HOUR, 1);
    // One transaction; one alarm write at the end (the earliest due time), not 10,000.
    expect(await stub.stats()).toEqual({ alarmWrites: 1, armedAt: T0 + HOUR });
    // Per task: 2 rows read (the id and key checks) and 3 written (the row and its two index
    // entries); once: the state row read and written (next id and armed time), the earliest due time.
    expect(cost).toEqual({ statements: 10_003, rowsRead: 20_003, rowsWritten: 30_001 });

    await stub.setNow(T0 + 2 * HOUR);
    await drain(stub);

    const runs = await stub.runs();
    expect(runs.length).toBe(10);
    expect(runs.every((run) => run.ran === 1_000 && run.succeeded === 1_000)).toBe(true);
    const labels = (await stub.effects()).map((effect) => Number(effect.label));
    expect(labels).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
  });

  it("reads rows in proportion to the batch, not to the 10,000 tasks pending", async () => {
    const stub = fixture("rows-per-run");
    await stub.scheduleRecords(10_000, T0 + HOUR, 1);
    await stub.setNow(T0 + 2 * HOUR);
    await runDurableObjectAlarm(stub);

    const [first] = await stub.runs();
    // Per task: 1 row read to pick it (128 at a time through the due index), 1 read + 1 written
    // to delete it. Per run: 4 reads and 2 writes of bookkeeping (armed time, earliest due, re-arm).
    expect(first).toMatchObject({ ran: 1_000, rowsRead: 2_004, rowsWritten: 1_002 });
    expect(await stub.pending()).toBe(9_000);
    await drain(stub);
  });

  it("starts no task after the time budget and re-arms for the rest", async () => {
    const stub = fixture("budget");
    // Each slow task moves the fixture clock on by 2 s; the fixture's budget is 5 s.
    for (let i = 0; i < 5; i++) {
      await stub.schedule("slow", { label: String(i), takesMs: 2 * SECOND }, { at: T0 + HOUR + i });
    }
    await stub.setNow(T0 + HOUR + 10);
    await runDurableObjectAlarm(stub);

    // Started at 0 s, 2 s and 4 s; the fourth would start at 6 s, over the budget.
    expect((await stub.runs())[0]).toMatchObject({ ran: 3, succeeded: 3 });
    expect(await stub.pending()).toBe(2);
    await drain(stub);
    expect((await stub.effects()).map((effect) => effect.label)).toEqual(["0", "1", "2", "3", "4"]);
  });
});
