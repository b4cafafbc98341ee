/**
 * Scheduled workflows: a workflow that declares a cron schedule (the shipped daily-report: 06:00
 * in Berlin; the tests' test-every-half-minute: a 6-field cron, every 30 seconds) gets one
 * WorkflowScheduler object whose alarm-queue cron task starts an instance at each fire. Fires are
 * run by hand after moving the scheduler's clock, as in the other tests.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fireStamp, type WorkflowScheduler } from "../src/workflow-scheduler-object";
import { api, instance } from "./helpers";

// Every test file has its own storage, so the schedulers start empty here.
const scheduler = (workflow = "daily-report") => env.WORKFLOW_SCHEDULER.getByName(workflow);

async function setSchedulerClock(at: number, workflow = "daily-report") {
  await runInDurableObject(scheduler(workflow), (object: WorkflowScheduler) => {
    object.clock = () => at;
  });
}

/** Arms every schedule with the clocks at `at` (`GET /api/schedules`) and returns the next fires. */
async function armAt(at: number, workflows: string[]): Promise<Record<string, number>> {
  for (const workflow of workflows) await setSchedulerClock(at, workflow);
  const response = await api("/api/schedules");
  const { schedules } = (await response.json()) as { schedules: { workflow: string; next: string }[] };
  return Object.fromEntries(schedules.map((s) => [s.workflow, Date.parse(s.next)]));
}

/** The earliest pending task of a scheduler, or null. */
async function earliest(workflow: string): Promise<{ due: number; key: string | null } | null> {
  return runInDurableObject(scheduler(workflow), (object: WorkflowScheduler) =>
    object.sql.one<{ due: number; key: string | null }>("SELECT due, key FROM _alarm_queue_tasks ORDER BY due LIMIT 1"),
  );
}

/**
 * Runs a scheduler's alarm at each due time, as the platform would, while its earliest task is due
 * before `until`: the fire, then whatever it left (a start, a retry).
 */
async function driveUntil(workflow: string, until: number, startAt?: number): Promise<void> {
  if (startAt !== undefined) {
    await setSchedulerClock(startAt, workflow);
    expect(await runDurableObjectAlarm(scheduler(workflow))).toBe(true);
  }
  for (let i = 0; i < 20; i++) {
    const next = await earliest(workflow);
    if (!next || next.due >= until) return;
    await setSchedulerClock(next.due, workflow);
    await runDurableObjectAlarm(scheduler(workflow));
  }
  throw new Error(`${workflow}: still firing after 20 alarms`);
}

describe("GET /api/schedules", () => {
  it("arms each scheduled workflow and lists its next fire in its time zone", async () => {
    await setSchedulerClock(Date.UTC(2026, 0, 1)); // midnight UTC = 01:00 in Berlin
    await setSchedulerClock(Date.UTC(2026, 0, 1), "test-every-half-minute");
    const response = await api("/api/schedules");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      schedules: [
        {
          workflow: "daily-report",
          cron: "0 6 * * *",
          timezone: "Europe/Berlin",
          next: "2026-01-01T05:00:00.000Z", // 06:00 CET
        },
        {
          workflow: "test-every-half-minute",
          cron: "*/30 * * * * *",
          timezone: "UTC",
          next: "2026-01-01T00:00:30.000Z",
        },
      ],
    });
  });
});

describe("a schedule firing", () => {
  it("starts one instance per fire, named after the fire time, even if the fire is delivered twice", async () => {
    const fire = (await armAt(Date.UTC(2026, 0, 1), ["daily-report"]))["daily-report"]!;
    await driveUntil("daily-report", fire + 3_600_000, fire);

    const id = `daily-report-${fireStamp(fire)}`;
    expect(id).toBe("daily-report-20260101T0500Z");
    expect(await instance(id)).toMatchObject({ workflow: "daily-report", status: "queued", params: {} });

    // A second delivery of the same fire (at-least-once) finds the instance and starts nothing new.
    await runInDurableObject(scheduler(), (object: WorkflowScheduler) => {
      object.sql.run("UPDATE _alarm_queue_tasks SET due = ? WHERE key = 'fire'", fire);
    });
    await driveUntil("daily-report", fire + 3_600_000, fire);
    expect((await instance(id)).status).toBe("queued");

    // The task moved on to the next day's 06:00 in Berlin.
    expect(await earliest("daily-report")).toEqual({ due: Date.UTC(2026, 0, 2, 5), key: "fire" });
  });

  it("gives two fires of a 6-field cron in the same minute two instances, named to the second", async () => {
    const workflow = "test-every-half-minute";
    // Armed at midnight by the test above (or here): fires at 00:00:30, then 00:01:00 and 00:01:30,
    // two in one minute.
    const first = (await armAt(Date.UTC(2026, 0, 1), [workflow]))[workflow]!;
    expect(first).toBe(Date.UTC(2026, 0, 1, 0, 0, 30));
    await driveUntil(workflow, first + 30_000, first);
    await driveUntil(workflow, first + 60_000, first + 30_000);
    await driveUntil(workflow, first + 90_000, first + 60_000);

    const a = await instance(`${workflow}-20260101T000100Z`);
    const b = await instance(`${workflow}-20260101T000130Z`);
    expect([a.workflow, a.status, b.workflow, b.status]).toEqual([workflow, "queued", workflow, "queued"]);
    expect(await earliest(workflow)).toEqual({ due: Date.UTC(2026, 0, 1, 0, 2), key: "fire" });
  });

  it("starts one instance named after the scheduled time when a fire's start is retried after its answer was lost", async () => {
    // The first start creates the instance, but its answer is lost (as when the connection to the
    // instance's object drops after it stored the instance): the attempt fails and is retried.
    const ids: string[] = [];
    let original: WorkflowScheduler["starter"] | undefined;
    await runInDurableObject(scheduler(), (object: WorkflowScheduler) => {
      const start = (original = object.starter);
      object.starter = async (env, input) => {
        const result = await start(env, input);
        ids.push(input.id!);
        if (ids.length === 1) throw new Error("connection lost after the instance was stored");
        return result;
      };
    });
    try {
      const fire = (await armAt(Date.UTC(2026, 0, 2, 1), ["daily-report"]))["daily-report"]!;
      expect(fire).toBe(Date.UTC(2026, 0, 2, 5));
      // The alarm ran late, 59.999 s after the fire: any retry is due in the next minute.
      await driveUntil("daily-report", fire + 3_600_000, fire + 59_999);

      // Both attempts started the instance of the scheduled time; the retry found it.
      expect(ids).toEqual(["daily-report-20260102T0500Z", "daily-report-20260102T0500Z"]);
      expect((await instance("daily-report-20260102T0500Z")).status).toBe("queued");
      expect((await api("/api/instances/daily-report-20260102T0501Z")).status).toBe(404);
      expect(await earliest("daily-report")).toEqual({ due: Date.UTC(2026, 0, 3, 5), key: "fire" });
    } finally {
      await runInDurableObject(scheduler(), (object: WorkflowScheduler) => {
        object.starter = original!;
      });
    }
  });
});
