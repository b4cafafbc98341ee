/**
 * Sample: a scheduled report. Every day at 06:00 in Berlin an instance collects the numbers,
 * renders them and publishes the result. Started by the workflow's schedule (see README,
 * "Scheduled workflows"), or by hand with `POST /api/instances {"workflow":"daily-report"}`.
 */
import { z } from "zod";
import { defineWorkflow } from "../engine/define";

export const DailyReportParams = z
  .strictObject({
    /** The day reported on, YYYY-MM-DD; the day before the run when absent. */
    day: z.iso.date().optional(),
  })
  .default({});
export type DailyReportParams = z.output<typeof DailyReportParams>;

export const dailyReport = defineWorkflow(
  "daily-report",
  async (params: DailyReportParams, step) => {
    // The day is decided inside a step: `new Date()` in workflow code would differ between replays.
    const day = await step.do(
      "pick day",
      () => params.day ?? new Date(Date.now() - 86_400_000).toISOString().slice(0, 10),
    );
    const numbers = await step.do("collect", async () => ({ day, orders: 0, revenue: 0 }));
    const report = await step.do(
      "render",
      () => `Report for ${day}: ${numbers.orders} orders, ${numbers.revenue} revenue.`,
    );
    await step.do("publish", { retries: { limit: 5, delay: "1 minute", backoff: "exponential" } }, async () => ({
      published: true,
      bytes: report.length,
    }));
    return { day, report };
  },
  { params: DailyReportParams, schedule: { cron: "0 6 * * *", timezone: "Europe/Berlin" } },
);
