/**
 * Retention: a finished instance is deleted (as `DELETE /api/instances/:id` does: index entry
 * removed, object storage freed) once its workflow's retention for the status it finished in has
 * passed, through its own alarm queue (task `expire`). Defaults: 7 days complete, 30 days errored,
 * 7 days terminated. The clock is the runner's injected one, moved by the test.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { defineWorkflow } from "../src/engine/define";
import type { WorkflowRunner } from "../src/workflow-runner-object";
import {
  T0,
  api,
  failIndexWriteOnce,
  flushIndex,
  instance,
  lifecycle,
  listPage,
  run,
  runAt,
  start,
  stub,
} from "./helpers";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** When the instance's `expire` task is due (queue clock), or null. */
async function expiresAt(id: string): Promise<number | null> {
  return runInDurableObject(stub(id), (runner: WorkflowRunner) =>
    runner.sql.hasTable("_alarm_queue_tasks")
      ? (runner.sql.one<{ due: number }>("SELECT due FROM _alarm_queue_tasks WHERE key = 'expire'")?.due ?? null)
      : null,
  );
}

/** Whether instance `id` is gone: 404, not listed, and its object holds no tables (no storage) and no alarm. */
async function expectDeleted(id: string, workflow: string): Promise<void> {
  expect((await api(`/api/instances/${id}`)).status).toBe(404);
  expect((await listPage(`?workflow=${workflow}&limit=100`)).instances.map((i) => i.id)).not.toContain(id);
  expect(
    await runInDurableObject(stub(id), async (runner: WorkflowRunner, state) => ({
      instanceTable: runner.sql.hasTable("instance"),
      alarm: await state.storage.getAlarm(),
    })),
  ).toEqual({ instanceTable: false, alarm: null });
}

/** Drives instance `id` of `workflow` to `status` at T0 and delivers its index updates. */
async function finish(workflow: string, status: "complete" | "errored" | "terminated"): Promise<string> {
  const id = await start(workflow, status === "errored" ? { fail: true } : undefined);
  if (status === "terminated") await lifecycle(id, "terminate");
  else await run(id);
  while (await flushIndex(id));
  expect((await instance(id)).status).toBe(status);
  return id;
}

describe("retention", () => {
  for (const [status, hours] of [
    ["complete", 1],
    ["errored", 2],
    ["terminated", 3],
  ] as const) {
    it(`deletes a ${status} instance when the workflow's ${status} retention (${hours} h) has passed, not before`, async () => {
      const id = await finish("test-retained", status);
      expect((await listPage("?workflow=test-retained&limit=100")).instances.map((i) => i.id)).toContain(id);
      expect(await expiresAt(id)).toBe(T0 + hours * HOUR);
      await runAt(id, T0 + hours * HOUR - 1);
      expect((await instance(id)).status).toBe(status);
      await runAt(id, T0 + hours * HOUR);
      await expectDeleted(id, "test-retained");
    });
  }

  it("keeps a workflow without a retention of its own 7 days when complete or terminated, 30 days when errored", async () => {
    const complete = await finish("test-listed", "complete");
    const errored = await finish("test-listed", "errored");
    const terminated = await finish("test-listed", "terminated");
    expect([await expiresAt(complete), await expiresAt(errored), await expiresAt(terminated)]).toEqual([
      T0 + 7 * DAY,
      T0 + 30 * DAY,
      T0 + 7 * DAY,
    ]);
    await runAt(complete, T0 + 7 * DAY);
    await expectDeleted(complete, "test-listed");
    await runAt(errored, T0 + 7 * DAY);
    expect((await instance(errored)).status).toBe("errored");
    await runAt(errored, T0 + 30 * DAY);
    await expectDeleted(errored, "test-listed");
  });

  it("forgets the retention of an instance restarted before it passed, and counts it again from its next end", async () => {
    const id = await finish("test-retained", "complete");
    await runAt(id, T0 + HOUR / 2); // nothing due yet
    await lifecycle(id, "restart");
    expect(await expiresAt(id)).toBeNull();
    await runAt(id, T0 + HOUR / 2); // runs again, completes at T0 + 30 min
    expect((await instance(id)).status).toBe("complete");
    expect(await expiresAt(id)).toBe(T0 + HOUR / 2 + HOUR);
    await runAt(id, T0 + HOUR);
    expect((await instance(id)).status).toBe("complete");
    await runAt(id, T0 + HOUR / 2 + HOUR);
    await expectDeleted(id, "test-retained");
  });

  it("deletes nothing while its index cannot be reached, and deletes the instance on the retry", async () => {
    const id = await finish("test-retained", "complete");
    // The index's next tombstone write throws once: its `remove` fails, its transaction rolled back.
    await failIndexWriteOnce("test-retained", "INSERT INTO tombstones");
    await runAt(id, T0 + HOUR);
    // The index failed: the instance is all there, still listed, and its expire task is retried after a backoff.
    expect((await instance(id)).status).toBe("complete");
    expect((await listPage("?workflow=test-retained&limit=100")).instances.map((i) => i.id)).toContain(id);
    const retry = (await expiresAt(id))!;
    expect(retry).toBeGreaterThan(T0 + HOUR);
    await runAt(id, retry);
    await expectDeleted(id, "test-retained");
  });

  it("refuses a retention that is not a duration, or longer than 365 days, when the workflow is defined", () => {
    const noop = async () => null;
    expect(() => defineWorkflow("bad-retention", noop, { retention: { complete: "forever" as "1 day" } })).toThrow(
      /retention\.complete of "bad-retention"/,
    );
    expect(() => defineWorkflow("bad-retention", noop, { retention: { errored: "400 days" } })).toThrow(
      /retention\.errored .*365 days/,
    );
  });
});
