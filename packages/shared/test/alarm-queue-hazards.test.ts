/**
 * The alarm queue under what breaks queues in production: a handler still running when its task
 * is cancelled, a handler that kills the object or never settles, times the runtime refuses, a
 * clock that steps back, storage calls that throw, and a stream of tasks due now.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { AlarmQueue, MAX_ALARM_TIME, migrate, type DeadLetter } from "../src";
import { QUEUE_MIGRATIONS, QUEUE_MIGRATIONS_TABLE } from "../src/alarm-queue/schema";
import type { AlarmFixture } from "./fixtures/alarm-fixture";
import { HOUR, SECOND, T0, drain, fixture, retryAlarm } from "./alarm-queue-helpers";

/** Waits (bounded) until `check` holds: for a handler to reach the point a test holds it at. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await scheduler.wait(2);
  }
  throw new Error("condition never held");
}

const labels = async (stub: ReturnType<typeof fixture>) => (await stub.effects()).map((effect) => effect.label);

describe("task identity", () => {
  it("never gives a removed task's id to a new task, not even the newest one's", async () => {
    const stub = fixture("ids");
    const first = await stub.schedule("record", { label: "first" }, { at: T0 + HOUR });
    const newest = await stub.schedule("record", { label: "newest" }, { at: T0 + HOUR });
    await stub.cancel({ id: newest.id });
    const next = await stub.schedule("record", { label: "next" }, { at: T0 + HOUR });

    // SQLite alone would hand out max(id) + 1 again, which is the cancelled task's id.
    expect([first.id, newest.id, next.id]).toEqual([first.id, first.id + 1, first.id + 2]);
    await stub.setNow(T0 + HOUR);
    await runDurableObjectAlarm(stub);
    expect(await labels(stub)).toEqual(["first", "next"]);
  });

  it("applies a running handler's outcome only to its own task: cancelled mid-run, a new task is left pending", async () => {
    const stub = fixture("outcome");
    const old = await stub.schedule("gated", { label: "old" }, { at: T0 + HOUR });
    await stub.setNow(T0 + HOUR);
    const running = runDurableObjectAlarm(stub);
    await until(() => stub.waiting("old"));

    // While its handler awaits I/O: the task is cancelled and another one scheduled.
    expect(await stub.cancel({ id: old.id })).toBe(true);
    const fresh = await stub.schedule("record", { label: "fresh" }, { at: T0 + HOUR });
    expect(fresh.id).not.toBe(old.id);
    await stub.release("old");
    await running;

    // The old handler's completion removed nothing: the fresh task is still there, and runs.
    expect(await stub.get({ id: fresh.id })).toMatchObject({ payload: { label: "fresh" }, attempts: 0 });
    await stub.setNow(T0 + HOUR + 1);
    await runDurableObjectAlarm(stub);
    expect(await labels(stub)).toEqual(["old", "fresh"]);
  });

  it("lets a second run() join the run in progress instead of returning an empty report", async () => {
    const stub = fixture("join");
    await stub.schedule("gated", { label: "slow" }, { at: T0 + HOUR });
    await stub.setNow(T0 + HOUR);
    const first = runDurableObjectAlarm(stub);
    await until(() => stub.waiting("slow"));
    const second = runInDurableObject(stub, (instance: AlarmFixture) => instance.queue.run());
    await stub.release("slow");

    const [, report] = await Promise.all([first, second]);
    expect(report).toMatchObject({ ran: 1, succeeded: 1 });
    expect(await stub.runs()).toHaveLength(1);
  });
});

describe("storage deleted under a run", () => {
  it("ends a run quietly when another request deletes the object's storage while a handler awaits", async () => {
    const stub = fixture("purged-mid-run");
    await stub.schedule("gated", { label: "slow" }, { at: T0 + HOUR });
    await stub.schedule("record", { label: "behind" }, { at: T0 + HOUR + 1 });
    await stub.setNow(T0 + HOUR + 1);
    const running = runInDurableObject(stub, (instance: AlarmFixture) => instance.queue.run());
    await until(() => stub.waiting("slow"));
    // An app's purge (a reset, an idle room) from another request, while the handler awaits I/O.
    await runInDurableObject(stub, (_instance, ctx) => ctx.storage.deleteAll());
    await stub.release("slow");

    // Not a failure for the platform to retry: nothing is pending any more, and nothing came back.
    expect(await running).toMatchObject({ ran: 1, nextAlarm: null });
    const tables = await runInDurableObject(stub, (_instance, ctx) =>
      ctx.storage.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name LIKE '_alarm_queue%'")
        .toArray(),
    );
    expect(tables).toEqual([]);
    expect(await stub.platformAlarm()).toBeNull();
  });
});

describe("a task that crashes the object", () => {
  it("is counted on the platform's retries, dead-lettered after maxAttempts, and the tasks behind it run", async () => {
    const stub = fixture("crash-loop");
    await stub.schedule("record", { label: "before" }, { at: T0 + HOUR });
    await stub.schedule("crash", { label: "crasher" }, { at: T0 + HOUR + 1 });
    await stub.schedule("record", { label: "after" }, { at: T0 + HOUR + 2 });
    await stub.setNow(T0 + HOUR + SECOND);
    await stub.setCrash(true); // crashes on every attempt: out of memory each time, say

    // The first invocation cannot count anything: its writes die with it.
    expect(String(await runDurableObjectAlarm(stub).catch((error: unknown) => error))).toContain("simulated crash");
    // The platform retries the alarm with retryCount 1, 2, …; each retry counts the attempt
    // durably before the handler runs. The fixture allows 4 attempts.
    const outcomes: string[] = [];
    for (let retry = 1; retry <= 6; retry++) {
      const error = await retryAlarm(env.ALARM_FIXTURE.get(stub.id), retry);
      outcomes.push(error ? "crashed" : "finished");
      if (!error) break;
    }
    expect(outcomes).toEqual(["crashed", "crashed", "crashed", "crashed", "finished"]);

    const revived = env.ALARM_FIXTURE.get(stub.id);
    expect(await labels(revived)).toEqual(["before", "after"]);
    expect((await revived.listDeadLetters()).items).toMatchObject([
      {
        name: "crash",
        attempts: 4,
        maxAttempts: 4,
        lastError: "Attempt 4 never finished: the object crashed or was reset while the task ran.",
      },
    ]);
    expect(await revived.pending()).toBe(0);
  });

  it("runs a task that crashed once on the retry, exactly once, with its attempt counted", async () => {
    const stub = fixture("crash-once");
    await stub.schedule("crash", { label: "survivor" }, { at: T0 + HOUR });
    await stub.setNow(T0 + HOUR);
    await stub.setCrash(true);
    await runDurableObjectAlarm(stub).catch(() => {});

    const revived = env.ALARM_FIXTURE.get(stub.id);
    await revived.setCrash(false); // the cause is gone (a deploy fixed it, memory was freed)
    expect(await retryAlarm(revived, 1)).toBeNull();
    expect(await revived.effects()).toMatchObject([{ label: "survivor", attempt: 0 }]);
    expect(await revived.pending()).toBe(0);
    expect((await revived.runs()).at(-1)).toMatchObject({ ran: 1, succeeded: 1, failed: 0 });
  });
});

describe("a handler that never settles", () => {
  it("fails its attempt after the handler timeout, aborts its signal, and the run goes on", async () => {
    const stub = fixture("hang");
    await stub.setHandlerTimeout(50);
    const stuck = await stub.schedule("hang", { label: "stuck" }, { at: T0 + HOUR });
    await stub.schedule("record", { label: "behind" }, { at: T0 + HOUR + 1 });
    await stub.setNow(T0 + HOUR + 1);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await labels(stub)).toEqual(["aborted:stuck", "behind"]);
    const retried = await stub.get({ id: stuck.id });
    expect(retried).toMatchObject({
      attempts: 1,
      lastError: 'TaskTimeoutError: Task "hang" did not settle within 50 ms; its signal was aborted.',
    });
    // The queue is not wedged: the alarm points at the retry, and a new task re-arms it.
    expect(await stub.stats()).toMatchObject({ armedAt: retried!.due });
    await stub.schedule("record", { label: "earlier" }, { at: T0 + HOUR + 2 });
    expect(await stub.stats()).toMatchObject({ armedAt: T0 + HOUR + 2 });
    await stub.cancel({ id: stuck.id });
  });

  it("refuses a handler timeout that, with the time budget, would outlast one alarm invocation", async () => {
    const stub = env.STORAGE_FIXTURE.getByName(`timeout-${crypto.randomUUID()}`);
    const message = await runInDurableObject(stub, (_instance, ctx) => {
      try {
        new AlarmQueue(ctx, { handlers: { work: async () => {} }, handlerTimeouts: { work: 15 * 60_000 } });
        return null;
      } catch (error) {
        return (error as Error).message;
      }
    });
    expect(message).toBe(
      "timeBudgetMs (10000) plus the longest handler timeout (900000) must stay under 900000 ms, the 15 minutes one alarm invocation may run.",
    );
  });
});

describe("times the runtime refuses", () => {
  it("refuses a task due after 2189 with an AlarmQueueError naming the limit, and writes nothing", async () => {
    const stub = fixture("far-future");
    const refusals = await Promise.all(
      [{ at: Date.UTC(2300, 0, 1) }, { delay: 1e15 }].map((when) =>
        stub.schedule("record", { label: "far" }, when).then(
          () => "accepted",
          (error: Error) => error.message,
        ),
      ),
    );
    expect(new Date(MAX_ALARM_TIME).toISOString()).toBe("2189-12-31T23:59:59.999Z");
    expect(refusals).toEqual([
      'Task "record" would be due at 2300-01-01T00:00:00.000Z, after 2189-12-31T23:59:59.999Z, the latest time the Workers runtime accepts for an alarm.',
      `Task "record" would be due at ${new Date(T0 + 1e15).toISOString()}, after 2189-12-31T23:59:59.999Z, the latest time the Workers runtime accepts for an alarm.`,
    ]);
    expect(await stub.pending()).toBe(0);
    expect(await stub.stats()).toEqual({ alarmWrites: 0, armedAt: null });
    expect(await stub.platformAlarm()).toBeNull();
  });

  it("arms a task due before 1970 at once instead of passing the runtime a time it refuses", async () => {
    const stub = fixture("past");
    await stub.schedule("record", { label: "ancient" }, { at: -T0 });
    expect(await stub.platformAlarm()).toBeGreaterThan(0);
    await runDurableObjectAlarm(stub);
    expect(await labels(stub)).toEqual(["ancient"]);
  });
});

describe("a clock that steps back", () => {
  it("never runs a task twice in one run when the clock steps back during it", async () => {
    const stub = fixture("step-back");
    const task = await stub.schedule("stepBack", { label: "once" }, { at: T0 + HOUR });
    await stub.schedule("record", { label: "next" }, { at: T0 + HOUR + 1 });
    await stub.setNow(T0 + HOUR + 1);
    await runDurableObjectAlarm(stub);

    // The failed attempt's retry is due after the run's cutoff, however far the clock went back.
    expect(await labels(stub)).toEqual(["once", "next"]);
    expect((await stub.runs())[0]).toMatchObject({ ran: 2, succeeded: 1, failed: 1 });
    const retry = await stub.get({ id: task.id });
    expect(retry!.attempts).toBe(1);
    expect(retry!.due).toBeGreaterThan(T0 + HOUR + 1);
    await stub.cancel({ id: task.id });
  });
});

describe("alarm writes for tasks due now", () => {
  it("writes the alarm once for 10,000 tasks scheduled one by one for now", async () => {
    const stub = fixture("due-now");
    await stub.setNow(T0);
    await runInDurableObject(stub, (instance: AlarmFixture) => {
      for (let i = 0; i < 10_000; i++) instance.queue.schedule("record", { label: String(i) }, { delay: 0 });
    });
    // Counted where the runtime sees them: one setAlarm, not one per schedule.
    expect((await stub.storageCalls()).setAlarm).toBe(1);
    expect(await stub.stats()).toEqual({ alarmWrites: 1, armedAt: T0 });

    // An armed time long past (the platform may have given up retrying it) is written again, once.
    await stub.setNow(T0 + 61 * SECOND);
    await stub.schedule("record", { label: "later" }, { delay: 0 });
    await stub.schedule("record", { label: "later still" }, { delay: 0 });
    expect((await stub.storageCalls()).setAlarm).toBe(2);
    await drain(stub);
    expect(await stub.runs()).toHaveLength(11);
  });
});

describe("storage faults", () => {
  it("keeps nothing of a schedule whose alarm write throws, and arms on the next call", async () => {
    const stub = fixture("set-alarm-fault");
    await stub.failOnce("setAlarm");
    const error = await stub.schedule("record", { label: "lost" }, { at: T0 + HOUR }).catch((e: Error) => e);
    expect(String(error)).toContain("injected fault in setAlarm");
    expect(await stub.pending()).toBe(0);
    expect(await stub.stats()).toEqual({ alarmWrites: 0, armedAt: null });

    await stub.schedule("record", { label: "kept" }, { at: T0 + HOUR });
    expect(await stub.stats()).toEqual({ alarmWrites: 1, armedAt: T0 + HOUR });
    expect(await stub.platformAlarm()).not.toBeNull();
    await stub.setNow(T0 + HOUR);
    await runDurableObjectAlarm(stub);
    expect(await labels(stub)).toEqual(["kept"]);
  });

  it("forgets an alarm write the runtime rejects later, so the next call writes it again", async () => {
    const stub = fixture("set-alarm-rejected");
    await stub.failOnce("setAlarm", 1, true);
    // The task is stored (the rejection comes after schedule() returned), but the armed time is not kept.
    await stub.schedule("record", { label: "first" }, { at: T0 + HOUR });
    await until(async () => (await stub.stats()).armedAt === null);
    expect(await stub.platformAlarm()).toBeNull();

    await stub.schedule("record", { label: "second" }, { at: T0 + 2 * HOUR });
    expect(await stub.stats()).toEqual({ alarmWrites: 2, armedAt: T0 + HOUR });
    expect(await stub.platformAlarm()).not.toBeNull();
    await stub.setNow(T0 + 2 * HOUR);
    await runDurableObjectAlarm(stub);
    expect(await labels(stub)).toEqual(["first", "second"]);
  });

  it("loses no task and runs none twice when any one statement of a run throws", async () => {
    // Every statement position of a run of 5 synchronous tasks, in turn.
    for (let after = 1; after <= 14; after++) {
      const stub = fixture(`exec-fault-${after}`);
      for (let i = 0; i < 5; i++) await stub.schedule("record", { label: String(i) }, { at: T0 + HOUR + i });
      await stub.setNow(T0 + HOUR + 10);
      await stub.failOnce("exec", after);
      // The run may fail (the platform then retries it) or the fault may hit a handler (retried later).
      await runDurableObjectAlarm(stub).catch(() => {});
      await stub.setNow(T0 + 2 * HOUR);
      await retryAlarm(stub, 1);
      await drain(stub);
      expect({ after, effects: (await labels(stub)).sort() }).toEqual({ after, effects: ["0", "1", "2", "3", "4"] });
      expect(await stub.pending()).toBe(0);
    }
  });
});

describe("dead-letter hook", () => {
  it("calls onDeadLetter with the task's name, key, attempts and last error", async () => {
    const stub = env.STORAGE_FIXTURE.getByName(`hook-${crypto.randomUUID()}`);
    const letters = await runInDurableObject(stub, async (_instance, ctx) => {
      const seen: DeadLetter[] = [];
      const queue = new AlarmQueue(ctx, {
        handlers: {
          charge: (_payload: { card: string }) => {
            throw new Error("card declined");
          },
        },
        maxAttempts: 1,
        now: () => T0,
        onError: () => {},
        onDeadLetter: (letter) => seen.push(letter),
      });
      queue.schedule("charge", { card: "4242" }, { at: T0, key: "invoice-7" });
      await queue.run();
      await ctx.storage.deleteAlarm();
      return seen;
    });
    expect(letters).toMatchObject([
      { name: "charge", key: "invoice-7", attempts: 1, maxAttempts: 1, lastError: "Error: card declined" },
    ]);
  });
});

describe("upgrading an existing queue", () => {
  it("keeps every pending task and dead letter, and numbers new tasks after all of them", async () => {
    const stub = env.STORAGE_FIXTURE.getByName(`upgrade-${crypto.randomUUID()}`);
    const result = await runInDurableObject(stub, async (_instance, ctx) => {
      // The queue's tables as the first release created them, with work in them.
      migrate(ctx.storage, [QUEUE_MIGRATIONS[0]], { table: QUEUE_MIGRATIONS_TABLE });
      for (const id of [3, 5]) {
        ctx.storage.sql.exec(
          `INSERT INTO _alarm_queue_tasks (id, name, key, payload, due, attempts, max_attempts, revision, created_at)
           VALUES (?, 'work', NULL, '{"n":1}', ?, 1, 5, 0, ?)`,
          id,
          T0 + id,
          T0,
        );
      }
      ctx.storage.sql.exec(
        `INSERT INTO _alarm_queue_dead (task_id, name, payload, attempts, max_attempts, created_at, failed_at)
         VALUES (9, 'work', '{}', 5, 5, ?, ?)`,
        T0,
        T0,
      );
      const queue = new AlarmQueue(ctx, { handlers: { work: (_payload: { n: number }) => {} }, now: () => T0 });
      const pending = queue.list().items.map(({ id, due, attempts }) => ({ id, due, attempts }));
      const fresh = queue.schedule("work", { n: 2 }, { at: T0 + HOUR });
      await ctx.storage.deleteAlarm();
      return { pending, fresh: fresh.id, letters: queue.listDeadLetters().items.length };
    });
    expect(result).toEqual({
      pending: [
        { id: 3, due: T0 + 3, attempts: 1 },
        { id: 5, due: T0 + 5, attempts: 1 },
      ],
      fresh: 10,
      letters: 1,
    });
  });
});
