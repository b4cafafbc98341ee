/**
 * What each operation costs in SQLite rows, from the Sql meter (billed rows read and written).
 * Per-step costs are measured as the difference between runs of 1 and 11 steps, so the fixed
 * cost of a run (status writes, the queue's bookkeeping) cancels out.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WorkflowRunner } from "../src/workflow-runner-object";
import { T0, api, json, run, runAt, sendEvent, setClock, start, stub, uniqueId } from "./helpers";

type Cost = { rowsRead: number; rowsWritten: number };

async function meter(id: string): Promise<Cost> {
  return runInDurableObject(stub(id), (runner: WorkflowRunner) => ({
    rowsRead: runner.sql.meter.rowsRead,
    rowsWritten: runner.sql.meter.rowsWritten,
  }));
}

/** How many times instance `id` waited for a commit (`storage.sync()`) so far. */
async function commits(id: string): Promise<number> {
  return runInDurableObject(stub(id), (runner: WorkflowRunner) => runner.commits);
}

/** The rows `action` costs instance `id`. */
async function cost(id: string, action: () => Promise<unknown>): Promise<Cost> {
  const before = await meter(id);
  await action();
  const after = await meter(id);
  return { rowsRead: after.rowsRead - before.rowsRead, rowsWritten: after.rowsWritten - before.rowsWritten };
}

/** The cost of the first run of a `test-steps` instance with `n` steps. */
async function firstRun(n: number, sleepAfter = false): Promise<{ id: string; cost: Cost }> {
  const id = await start("test-steps", { n, sleepAfter });
  return { id, cost: await cost(id, () => run(id)) };
}

describe("storage cost", () => {
  it("creates an instance for 5 rows written", async () => {
    const id = uniqueId();
    await setClock(id, T0);
    const created = await cost(id, () =>
      api("/api/instances", json("POST", { workflow: "test-steps", id, params: { n: 1 } })),
    );
    // The instance row, the queue's run task (row + 2 index entries) and its armed time (the
    // state row, which also takes the next task id). Inserting the task with that explicit id
    // reads one row more than letting SQLite pick it (the primary-key check).
    expect(created).toEqual({ rowsRead: 7, rowsWritten: 5 });
  });

  it("writes 2 rows per completed step (its attempt before it runs, its result after) and reads 2", async () => {
    const one = await firstRun(1);
    const eleven = await firstRun(11);
    const perStep = {
      rowsRead: (eleven.cost.rowsRead - one.cost.rowsRead) / 10,
      rowsWritten: (eleven.cost.rowsWritten - one.cost.rowsWritten) / 10,
    };
    // Reads, as metered: SQLite's own reads for the two writes. Whether the attempt may start and
    // its result be stored (the instance still running, the same generation) is read from the
    // instance row once per run, and again only after something wrote that row.
    expect(perStep).toEqual({ rowsRead: 2, rowsWritten: 2 });
    // The fixed cost of a run that completes (its one step included): status to running and to complete, the queue task's
    // removal and the alarm bookkeeping.
    expect(one.cost).toEqual({ rowsRead: 14, rowsWritten: 6 });
    // Two commits per step: the attempt is durable before the step runs, its result before the
    // workflow goes on (so a crash right after a step returned never runs it again).
    expect(((await commits(eleven.id)) - (await commits(one.id))) / 10).toBe(2);
  });

  it("replays a completed step for 1 row read and nothing written", async () => {
    const one = await firstRun(1, true);
    const eleven = await firstRun(11, true);
    const replayOne = await cost(one.id, () => runAt(one.id, T0 + 60_000));
    const replayEleven = await cost(eleven.id, () => runAt(eleven.id, T0 + 60_000));
    expect({
      rowsRead: (replayEleven.rowsRead - replayOne.rowsRead) / 10,
      rowsWritten: (replayEleven.rowsWritten - replayOne.rowsWritten) / 10,
    }).toEqual({ rowsRead: 1, rowsWritten: 0 });
  });

  it("costs 12 rows written for a sleep: 2 for the step, the rest to suspend and wake the run", async () => {
    const id = await start("test-steps", { n: 0, sleepAfter: true });
    // Run 1: status to running, the sleep's row, status to waiting, the run task moved to the wake
    // time (row and due index) and the alarm bookkeeping. Moving the task reads the queue's state
    // row (for the next task id), even during a run.
    expect(await cost(id, () => run(id))).toEqual({ rowsRead: 17, rowsWritten: 7 });
    // Run 2: the sleep completes, the instance completes, the task is removed.
    expect(await cost(id, () => runAt(id, T0 + 60_000))).toEqual({ rowsRead: 13, rowsWritten: 5 });
  });

  it("stores an event for 2 rows written (row and index entry), 5 when it wakes the instance", async () => {
    const queued = await start("test-waiter");
    // Not running yet: the event is buffered; the run already pending will see it.
    // Reads: the instance row; counting the pending events of its type reads none when there are none
    // (before issue #15 the count covered every type and read 1 row even then).
    expect(await cost(queued, () => sendEvent(queued, "ping", "early"))).toEqual({ rowsRead: 1, rowsWritten: 2 });
    const waiting = await start("test-waiter");
    await run(waiting);
    // Waiting: the run task also moves to now (its row, its due-time index entry, the armed time).
    expect(await cost(waiting, () => sendEvent(waiting, "pong", "early"))).toEqual({ rowsRead: 6, rowsWritten: 5 });
  });

  it("stores an event with an idempotency key for 3 rows written (+ the key's index entry), a repeat for none", async () => {
    const id = await start("test-waiter");
    const keyed = () =>
      api(`/api/instances/${id}/events/ping`, json("POST", { payload: "early", idempotencyKey: "ping-1" }));
    // The key's lookup finds nothing; the event row, its pending-index entry and its key-index entry.
    expect(await cost(id, keyed)).toEqual({ rowsRead: 1, rowsWritten: 3 });
    // A repeat: the instance row and the earlier event, read; nothing written.
    expect(await cost(id, keyed)).toEqual({ rowsRead: 2, rowsWritten: 0 });
  });

  it("lists a page of pending events for the rows it shows, and deletes one for 1 row written", async () => {
    const id = await start("test-waiter");
    for (let i = 0; i < 12; i++) await sendEvent(id, i < 6 ? "ping" : "pong", i);
    const list = (query: string) => cost(id, () => api(`/api/instances/${id}/events${query}`));
    // Reads: the instance row, the events shown and one more (to know whether a next page exists).
    expect(await list("?limit=5")).toEqual({ rowsRead: 7, rowsWritten: 0 });
    expect(await list("?limit=10")).toEqual({ rowsRead: 12, rowsWritten: 0 });
    expect(await list("?type=pong&limit=5")).toEqual({ rowsRead: 7, rowsWritten: 0 });
    // A page that crosses from one type into the next reads one more: the end of the first type's range.
    expect(await list("?limit=5&after=ping~3")).toEqual({ rowsRead: 8, rowsWritten: 0 });
    expect(await list("?type=ping&limit=5&after=ping~3")).toEqual({ rowsRead: 5, rowsWritten: 0 });
    // Deleting reads the instance row and the event (the lookup reads 2) and removes the row.
    expect(await cost(id, () => api(`/api/instances/${id}/events/1`, { method: "DELETE" }))).toEqual({
      rowsRead: 3,
      rowsWritten: 1,
    });
    // An event with an idempotency key keeps its row, marked deleted (a retry still answers like the first).
    await api(`/api/instances/${id}/events/ping`, json("POST", { payload: 12, idempotencyKey: "k" }));
    expect(await cost(id, () => api(`/api/instances/${id}/events/13`, { method: "DELETE" }))).toEqual({
      rowsRead: 3,
      rowsWritten: 1,
    });
  });
});
