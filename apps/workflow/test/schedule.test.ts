/**
 * Scheduled workflows: a workflow that declares a cron schedule (the shipped daily-report: 06:00
 * in Berlin) gets one WorkflowScheduler object whose alarm-queue cron task starts an instance at
 * each fire. Fires are run by hand after moving the scheduler's clock, as in the other tests.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { fireStamp, type WorkflowScheduler } from "../src/workflow-scheduler-object";
import { api, instance } from "./helpers";

// Every test file has its own storage, so the scheduler starts empty here.
const scheduler = () => env.WORKFLOW_SCHEDULER.getByName("daily-report");

async function setSchedulerClock(at: number) {
  await runInDurableObject(scheduler(), (object: WorkflowScheduler) => {
    object.clock = () => at;
  });
}

describe("GET /api/schedules", () => {
  it("arms each scheduled workflow and lists its next fire in its time zone", async () => {
    await setSchedulerClock(Date.UTC(2026, 0, 1)); // midnight UTC = 01:00 in Berlin
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
      ],
    });
  });
});

describe("a schedule firing", () => {
  it("starts one instance per fire, named after the fire time, even if the fire is delivered twice", async () => {
    await setSchedulerClock(Date.UTC(2026, 0, 1));
    const { schedules } = (await (await api("/api/schedules")).json()) as { schedules: { next: string }[] };
    const fire = Date.parse(schedules[0]!.next);
    await setSchedulerClock(fire);
    expect(await runDurableObjectAlarm(scheduler())).toBe(true);

    const id = `daily-report-${fireStamp(fire)}`;
    expect(id).toBe("daily-report-20260101T0500Z");
    expect(await instance(id)).toMatchObject({ workflow: "daily-report", status: "queued", params: {} });

    // A second delivery of the same fire (at-least-once) finds the instance and starts nothing new.
    await runInDurableObject(scheduler(), (object: WorkflowScheduler) => {
      object.sql.run("UPDATE _alarm_queue_tasks SET due = ? WHERE key = 'fire'", fire);
    });
    await runInDurableObject(scheduler(), (object: WorkflowScheduler) => object.alarm());
    expect((await instance(id)).status).toBe("queued");

    // The task moved on to the next day's 06:00 in Berlin.
    const next = await runInDurableObject(scheduler(), (object: WorkflowScheduler) =>
      object.sql.one<{ due: number }>("SELECT due FROM _alarm_queue_tasks WHERE key = 'fire'"),
    );
    expect(next?.due).toBe(Date.UTC(2026, 0, 2, 5));
  });
});
