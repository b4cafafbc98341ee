/**
 * Property: whatever happens to the object between and during alarm runs (evictions, crashes that
 * roll back what was not committed, the platform retrying the failed alarm, a storage call that
 * throws, the clock stepping back), no task is lost and no synchronous task's effect happens twice.
 *
 * The interleavings inside one object are the other property's subject
 * (alarm-queue-interleavings.test.ts); this one uses what only the runtime can do: a real
 * `ctx.abort()` from inside a handler, `evictDurableObject`, and a fresh object instance after each.
 * Runs `FC_RUNS` cases (default in vitest.config.ts; `pnpm test:soak` runs 10,000) with `FC_SEED`.
 */
import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, describe, expect, inject, it } from "vitest";
import type { AlarmFixture } from "./fixtures/alarm-fixture";
import { HOUR, MINUTE, T0, retryAlarm } from "./alarm-queue-helpers";

const runs = inject("fcRuns");
const seed = inject("fcSeed");
console.log(`alarm-queue recovery: ${runs} runs, seed ${seed}`);
const figures = { cases: 0, commands: 0, crashes: 0, retries: 0, evictions: 0, aborts: 0, faults: 0, deadLettered: 0 };
afterAll(() => console.log(`alarm-queue recovery figures: ${JSON.stringify(figures)}`));

// A pool of objects, reset at the start of each case: a fresh object per case would exhaust
// workerd's file descriptors in a 10,000-case soak (each live object keeps its SQLite files open).
const pool = Array.from({ length: 16 }, (_, i) => `recovery-${i}-${crypto.randomUUID()}`);
let nextObject = 0;

type Command =
  | { kind: "schedule"; task: "record" | "crash"; offsetMinutes: number; key: string | null }
  | { kind: "cancel"; pick: number; byKey: boolean }
  | { kind: "run" }
  | { kind: "evict" }
  | { kind: "abort" }
  | { kind: "crashing"; on: boolean }
  | { kind: "clock"; minutes: number }
  | { kind: "fault"; after: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("schedule" as const),
      task: fc.constantFrom("record" as const, "record" as const, "crash" as const),
      offsetMinutes: fc.integer({ min: -5, max: 90 }),
      key: fc.option(fc.constantFrom("a", "b", "c"), { freq: 2 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat(), byKey: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("run" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("evict" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("abort" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("crashing" as const), on: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("clock" as const), minutes: fc.integer({ min: -120, max: 120 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("fault" as const), after: fc.integer({ min: 1, max: 12 }) }) },
);

/** What the model knows of one scheduled task: a label is scheduled once, so it names one version. */
interface Scheduled {
  label: string;
  id: number;
  key: string | null;
  task: "record" | "crash";
  /** Still expected to run: not cancelled and not replaced by a later schedule with its key. */
  live: boolean;
}

describe("recovery from crashes, evictions, retries and faults", () => {
  it("loses no task and runs no synchronous task twice across evictions, crashes, platform retries, storage faults and clock steps", async () => {
    await fc.assert(
      // `fixed`: whether the cause of the crashes is gone before recovery; if not, every task
      // that crashes the object must end in the dead letters while all the others still run.
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), fc.boolean(), async (commands, fixed) => {
        figures.cases += 1;
        const id = env.ALARM_FIXTURE.idFromName(pool[nextObject++ % pool.length]!);
        let stub = env.ALARM_FIXTURE.get(id);
        await reset(stub);
        const scheduled: Scheduled[] = [];
        let now = T0;
        // Failed invocations in a row: the platform's retryCount for the next one.
        let failedInvocations = 0;
        let faults = 0;
        const revive = () => (stub = env.ALARM_FIXTURE.get(id));
        const invoke = async () => {
          const error =
            failedInvocations === 0
              ? await runDurableObjectAlarm(stub).then(
                  () => null,
                  (e: unknown) => e,
                )
              : await retryAlarm(stub, failedInvocations);
          if (failedInvocations > 0) figures.retries += 1;
          if (error) {
            failedInvocations += 1;
            if (String(error).includes("simulated crash")) figures.crashes += 1;
            revive();
          } else {
            failedInvocations = 0;
          }
        };

        for (const [index, cmd] of commands.entries()) {
          figures.commands += 1;
          switch (cmd.kind) {
            case "schedule": {
              const label = `${cmd.task}-${index}`;
              const task = await stub
                .schedule(
                  cmd.task,
                  { label },
                  { at: now + cmd.offsetMinutes * MINUTE, ...(cmd.key ? { key: cmd.key } : {}) },
                )
                .catch(() => null); // a storage fault: nothing was written (checked at the end)
              if (!task) {
                revive();
                break;
              }
              for (const other of scheduled) if (cmd.key !== null && other.key === cmd.key) other.live = false;
              scheduled.push({ label, id: task.id, key: cmd.key, task: cmd.task, live: true });
              break;
            }
            case "cancel": {
              const live = scheduled.filter((task) => task.live);
              const target = live[cmd.pick % Math.max(1, live.length)];
              if (!target) break;
              const removed = await stub
                .cancel(cmd.byKey && target.key ? { key: target.key } : { id: target.id })
                .catch(() => null);
              if (removed === null) revive();
              // Removed now, or it had run already: either way it must not run (again) from here.
              else target.live = false;
              break;
            }
            case "run":
              await invoke();
              break;
            case "evict":
              figures.evictions += 1;
              // An object that is not running (just reset) is as evicted as it gets.
              await evictDurableObject(stub).catch(() => {});
              break;
            case "abort":
              // A reset between requests (a deploy, a crash elsewhere in the object).
              figures.aborts += 1;
              await runInDurableObject(stub, (_instance, ctx) => ctx.abort("reset between requests")).catch(() => {});
              revive();
              break;
            case "crashing":
              await stub.setCrash(cmd.on);
              break;
            case "clock":
              now += cmd.minutes * MINUTE;
              await stub.setNow(now);
              break;
            case "fault":
              figures.faults += 1;
              faults += 1;
              await stub.failOnce("exec", cmd.after);
              break;
          }
        }

        // Recovery: time moves on, and the platform keeps invoking the alarm (retrying failed
        // invocations) until nothing is pending.
        revive();
        const ranBefore = new Set((await stub.effects()).map((effect) => effect.label));
        await stub.setCrash(!fixed);
        // Each round moves the clock past any retry's backoff (at most a minute in the fixture).
        for (let i = 0; i < 150 && (await stub.pending()) > 0; i++) {
          now += HOUR;
          await stub.setNow(now);
          await invoke();
        }

        await stub.clearFaults(); // a fault still armed must not hit the reads below
        const effects = (await stub.effects()).map((effect) => effect.label);
        const dead = (await stub.listDeadLetters({ limit: 1000 })).items.map((letter) => letter.payload.label);
        figures.deadLettered += dead.length;
        expect(await stub.pending()).toBe(0);
        // No synchronous effect twice, and never both done and dead.
        expect(new Set(effects).size).toBe(effects.length);
        expect(effects.filter((label) => dead.includes(label))).toEqual([]);
        for (const task of scheduled) {
          const ran = effects.includes(task.label);
          const isDead = dead.includes(task.label);
          // Only a task that crashes the object can use up its attempts here, unless enough
          // injected faults hit one task's transaction to use up its 4 attempts.
          if (isDead && faults < 4) expect(task.task).toBe("crash");
          if (task.live) expect({ label: task.label, done: ran || isDead }).toEqual({ label: task.label, done: true });
          // A crash task that had not run before recovery crashes every time now: it must be dead.
          if (task.live && !fixed && task.task === "crash" && !ranBefore.has(task.label)) {
            expect({ label: task.label, isDead }).toEqual({ label: task.label, isDead: true });
          }
        }
        // Nothing ran that no successful schedule call put there.
        const known = new Set(scheduled.map((task) => task.label));
        expect([...effects, ...dead].filter((label) => !known.has(label))).toEqual([]);
      }),
      { numRuns: runs, seed },
    );
  });
});

/** Puts a pooled object back to a known state: empty queue, no alarm, fixture clock at T0. */
async function reset(stub: DurableObjectStub<AlarmFixture>): Promise<void> {
  await runInDurableObject(stub, async (instance: AlarmFixture, ctx) => {
    for (const table of ["_alarm_queue_tasks", "_alarm_queue_dead", "effects", "runs"]) {
      ctx.storage.sql.exec(`DELETE FROM ${table}`);
    }
    ctx.storage.sql.exec("UPDATE _alarm_queue_state SET armed_at = NULL, armed_write_at = NULL");
    await ctx.storage.deleteAlarm();
    instance.setCrash(false);
    instance.setNow(T0);
    instance.clearFaults();
  });
}
