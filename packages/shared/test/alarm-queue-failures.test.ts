import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HOUR, SECOND, T0, drain, fixture } from "./alarm-queue-helpers";

describe("retries and dead letters", () => {
  it("retries a failing task with exponentially growing delays, then dead-letters it while the others run", async () => {
    const stub = fixture("retries");
    // Jitter draws 0.5: delays are half of each ceiling (1 s, 2 s, 4 s), so growth is exact.
    await stub.setRandom(0.5);
    const failing = await stub.schedule("flaky", { label: "flaky", failures: 99 }, { at: T0 + HOUR });
    await stub.schedule("record", { label: "neighbour" }, { at: T0 + HOUR });

    let now = T0 + HOUR;
    const dues: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      await stub.setNow(now);
      await runDurableObjectAlarm(stub);
      const task = await stub.get({ id: failing.id });
      expect(task).toMatchObject({ attempts: attempt, lastError: `Error: flaky failure ${attempt}` });
      dues.push(task!.due - now);
      now = task!.due;
    }
    expect(dues).toEqual([500, 1_000, 2_000]);

    await stub.setNow(now);
    await runDurableObjectAlarm(stub);
    expect(await stub.get({ id: failing.id })).toBeNull();
    const dead = await stub.listDeadLetters();
    expect(dead.items).toMatchObject([
      {
        taskId: failing.id,
        name: "flaky",
        attempts: 4,
        maxAttempts: 4,
        lastError: "Error: flaky failure 4",
        failedAt: now,
      },
    ]);

    const runs = await stub.runs();
    expect(runs.map(({ ran, succeeded, failed, deadLettered }) => ({ ran, succeeded, failed, deadLettered }))).toEqual([
      { ran: 2, succeeded: 1, failed: 1, deadLettered: 0 },
      { ran: 1, succeeded: 0, failed: 1, deadLettered: 0 },
      { ran: 1, succeeded: 0, failed: 1, deadLettered: 0 },
      { ran: 1, succeeded: 0, failed: 0, deadLettered: 1 },
    ]);
    // The neighbour ran once; every write of the failing handler was rolled back with its attempt.
    expect((await stub.effects()).map((effect) => effect.label)).toEqual(["neighbour"]);
  });

  it("keeps random retry delays within the full-jitter bounds of 1 s, 2 s and 4 s", async () => {
    const stub = fixture("jitter");
    await stub.setRandom(null);
    const tasks = [];
    for (let i = 0; i < 20; i++) {
      tasks.push(await stub.schedule("flaky", { label: String(i), failures: 99 }, { at: T0 + HOUR }));
    }
    let now = T0 + HOUR;
    for (const ceiling of [1_000, 2_000, 4_000]) {
      await stub.setNow(now);
      await runDurableObjectAlarm(stub);
      const delays = (await stub.list({ limit: 20 })).items.map((task) => task.due - now);
      expect(delays).toHaveLength(20);
      for (const delay of delays) {
        expect(delay).toBeGreaterThanOrEqual(1);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
      now += ceiling;
    }
    await stub.purgeDeadLetters();
    for (const task of tasks) await stub.cancel({ id: task.id });
  });

  it("lists, retries and purges dead letters", async () => {
    const stub = fixture("dead-letters");
    await stub.setFail(true);
    await stub.schedule("fragile", { label: "retried" }, { at: T0 + HOUR, maxAttempts: 1, key: "retried" });
    await stub.schedule("fragile", { label: "purged" }, { at: T0 + HOUR, maxAttempts: 1 });
    await stub.setNow(T0 + HOUR);
    await runDurableObjectAlarm(stub);

    const dead = (await stub.listDeadLetters()).items;
    expect(dead.map((letter) => [letter.payload, letter.lastError])).toEqual([
      [{ label: "retried" }, "Error: dependency is down"],
      [{ label: "purged" }, "Error: dependency is down"],
    ]);

    // The dependency is back: the retried letter runs again with its attempts reset.
    await stub.setFail(false);
    const retried = await stub.retryDeadLetter(dead[0]!.id);
    expect(retried).toMatchObject({ key: "retried", attempts: 0, due: T0 + HOUR });
    await runDurableObjectAlarm(stub);
    expect((await stub.effects()).map((effect) => effect.label)).toEqual(["retried"]);

    expect(await stub.purgeDeadLetters([dead[1]!.id])).toBe(1);
    expect((await stub.listDeadLetters()).items).toEqual([]);
    expect(await stub.retryDeadLetter(dead[1]!.id)).toBeNull();
  });

  it("leaves no write behind when a synchronous handler throws after writing (exactly-once effects)", async () => {
    const stub = fixture("exactly-once");
    // Fails on its first attempt after inserting an effect row, succeeds on the second.
    await stub.schedule("flaky", { label: "once", failures: 1 }, { at: T0 + HOUR });
    await stub.setNow(T0 + HOUR);
    await runDurableObjectAlarm(stub);
    expect(await stub.effects()).toEqual([]);

    await stub.setNow(T0 + 2 * HOUR);
    await runDurableObjectAlarm(stub);
    expect((await stub.effects()).map(({ label, attempt }) => ({ label, attempt }))).toEqual([
      { label: "once", attempt: 1 },
    ]);
  });

  it("keeps an asynchronous handler's writes from a failed attempt (at-least-once)", async () => {
    const stub = fixture("at-least-once");
    await stub.schedule("asyncFailing", { label: "async" }, { at: T0 + HOUR, maxAttempts: 2 });
    await stub.setNow(T0 + HOUR);
    await runDurableObjectAlarm(stub);
    await stub.setNow(T0 + 2 * HOUR);
    await runDurableObjectAlarm(stub);

    // Two attempts, two effects: the write before the await was committed by the first attempt.
    expect((await stub.effects()).map(({ attempt }) => attempt)).toEqual([0, 1]);
    expect((await stub.listDeadLetters()).items).toMatchObject([
      { name: "asyncFailing", lastError: "Error: async failure" },
    ]);
  });
});

describe("crashes", () => {
  it("loses no task when the object is killed in the middle of a run", async () => {
    const stub = fixture("crash");
    await stub.schedule("record", { label: "before" }, { at: T0 + HOUR });
    await stub.schedule("crash", { label: "crasher" }, { at: T0 + HOUR + 1 });
    await stub.schedule("record", { label: "after" }, { at: T0 + HOUR + 2 });
    await stub.setNow(T0 + HOUR + SECOND);
    await stub.setCrash(true);

    // ctx.abort() resets the object from inside the handler: an uncatchable, honest crash.
    const crashed = await runDurableObjectAlarm(stub).then(
      () => null,
      (error: unknown) => error,
    );
    expect(String(crashed)).toContain("simulated crash");
    // A stub whose object was aborted stays broken; callers (like the platform) take a new one.
    const revived = env.ALARM_FIXTURE.get(stub.id);

    // Every task is either done (its effect recorded) or still pending: nothing lost, nothing twice.
    const effects = (await revived.effects()).map((effect) => effect.label);
    const pending = (await revived.list()).items.map((task) => (task.payload as { label: string }).label);
    expect([...effects, ...pending].sort()).toEqual(["after", "before", "crasher"]);
    expect(pending).toContain("crasher");

    // The platform retries the failed alarm; once the cause is gone everything runs exactly once.
    await revived.setCrash(false);
    await drain(revived);
    expect((await revived.effects()).map((effect) => effect.label)).toEqual(["before", "crasher", "after"]);
  });
});
