/**
 * What each operation costs in SQLite rows, from the Sql meter (billed rows read and written).
 * Per-step costs are measured as the difference between runs of 1 and 11 steps, so the fixed
 * cost of a run (status writes, the queue's bookkeeping) cancels out.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WorkflowCoordinator } from "../src/workflow-coordinator-object";
import type { WorkflowIndex } from "../src/workflow-index-object";
import type { WorkflowRunner } from "../src/workflow-runner-object";
import {
  T0,
  api,
  flushIndex,
  indexStub,
  indexUpdateOf,
  json,
  lifecycle,
  run,
  runAt,
  sendEvent,
  setClock,
  start,
  stub,
  uniqueId,
} from "./helpers";

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
  it("creates an instance for 9 rows written: its row, its run task and its index task", async () => {
    const id = uniqueId();
    await setClock(id, T0);
    const created = await cost(id, () =>
      api("/api/instances", json("POST", { workflow: "test-steps", id, params: { n: 1 } })),
    );
    // The instance row, the queue's run task (row + 2 index entries) and its armed time (the
    // state row, which also takes the next task id). Inserting the task with that explicit id
    // reads one row more than letting SQLite pick it (the primary-key check). Since issue #19, the
    // index task too, in the same transaction (row + 2 index entries + the state row's next id):
    // 7 read and 5 written before.
    expect(created).toEqual({ rowsRead: 12, rowsWritten: 9 });
  });

  it("reads and writes no row for an id with no instance (GET, an event, a refused WebSocket)", async () => {
    const id = uniqueId("nobody");
    const refused = await cost(id, async () => {
      expect((await api(`/api/instances/${id}`)).status).toBe(404);
      expect((await api(`/api/instances/${id}/events/ping`, json("POST", {}))).status).toBe(404);
      expect((await api(`/api/instances/${id}/websocket`, { headers: { upgrade: "websocket" } })).status).toBe(404);
    });
    // Not even the instance row is read: the object knows from memory it has no tables.
    expect(refused).toEqual({ rowsRead: 0, rowsWritten: 0 });
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
    // removal and the alarm bookkeeping (14 read, 6 written before issue #19). Since then the same
    // alarm first sends the create's index update (8 read, 2 written), and the run writes the index
    // task of its two status changes (a new one, then replaced) and the retention's expire task.
    expect(one.cost).toEqual({ rowsRead: 30, rowsWritten: 18 });
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

  it("costs rows for a sleep: 2 written for the step, the rest to suspend and wake the run and index each change", async () => {
    const id = await start("test-steps", { n: 0, sleepAfter: true });
    // Run 1: status to running, the sleep's row, status to waiting, the run task moved to the wake
    // time (row and due index) and the alarm bookkeeping. Moving the task reads the queue's state
    // row (for the next task id), even during a run.
    // Since issue #19 also the create's index update sent and the index task of `running` and
    // `waiting` (17 read, 7 written before).
    expect(await cost(id, () => run(id))).toEqual({ rowsRead: 28, rowsWritten: 14 });
    // Run 2: the sleep completes, the instance completes, the task is removed (13 read, 5 written
    // before #19); now also the index update of `waiting` sent, the index task of `running` and
    // `complete`, and the expire task.
    expect(await cost(id, () => runAt(id, T0 + 60_000))).toEqual({ rowsRead: 29, rowsWritten: 17 });
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
    // Deleting reads the instance row and the event (the lookup reads 2) and marks the row deleted.
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

/** The rows `action` costs workflow `name`'s index object. */
async function indexCost(name: string, action: () => Promise<unknown>): Promise<Cost> {
  const read = () =>
    runInDurableObject(indexStub(name), (index: WorkflowIndex) => ({
      rowsRead: index.sql.meter.rowsRead,
      rowsWritten: index.sql.meter.rowsWritten,
    }));
  const before = await read();
  await action();
  const after = await read();
  return { rowsRead: after.rowsRead - before.rowsRead, rowsWritten: after.rowsWritten - before.rowsWritten };
}

describe("storage cost of the index", () => {
  it("writes the intent to update the index with each status change: a new task, or the pending one replaced", async () => {
    const pending = await start("test-listed");
    // Its create's index task is still pending: the pause replaces it (the queue's by-key replace).
    const replaced = await cost(pending, () => lifecycle(pending, "pause"));
    const idle = await start("test-listed");
    await flushIndex(idle); // sends `queued`; the same alarm runs the instance, which then waits
    await flushIndex(idle);
    const waiting = await start("test-listed", { wait: true });
    while (await flushIndex(waiting));
    // No index task pending: the pause schedules a new one.
    const scheduled = await cost(waiting, () => lifecycle(waiting, "pause"));
    // Each: the status row, the run task cancelled, and the index task replaced by key (2 of the 4
    // written) or scheduled anew (4 of the 6: its row, its 2 index entries, the queue's state row).
    expect({ replaced, scheduled }).toEqual({
      replaced: { rowsRead: 11, rowsWritten: 4 },
      scheduled: { rowsRead: 12, rowsWritten: 6 },
    });
  });

  it("sends an update for 8 rows read and 2 written in the runner; the index stores it for 4 rows written", async () => {
    const id = await start("test-listed");
    await lifecycle(id, "pause"); // only the index task is pending
    let index: Cost = { rowsRead: 0, rowsWritten: 0 };
    // The runner's alarm: its queue's bookkeeping, the instance row read, the task removed.
    const runner = await cost(id, async () => {
      index = await indexCost("test-listed", () => flushIndex(id));
    });
    expect({ runner, index }).toEqual({
      runner: { rowsRead: 8, rowsWritten: 2 },
      // A new entry: the lookup, the tombstone lookup; the row, its 2 index entries and its status's count.
      index: { rowsRead: 3, rowsWritten: 4 },
    });
    await lifecycle(id, "resume");
    // A change: the entry read, the row updated and its status index entry moved, 2 counts.
    expect(await indexCost("test-listed", () => flushIndex(id))).toEqual({ rowsRead: 6, rowsWritten: 4 });
  });

  it("ignores a repeated update for 1 row read and nothing written", async () => {
    const id = await start("test-listed");
    await lifecycle(id, "pause");
    await flushIndex(id);
    const update = await indexUpdateOf(id);
    expect(await indexCost("test-listed", () => indexStub("test-listed").apply(update))).toEqual({
      rowsRead: 1,
      rowsWritten: 0,
    });
  });

  it("reads a page of n instances for n + 1 rows, with or without a status, and the counts for 7", async () => {
    for (let i = 0; i < 12; i++) {
      const id = await start("test-listed");
      while (await flushIndex(id));
    }
    const page = (query: string) => indexCost("test-listed", () => api(`/api/instances?workflow=test-listed${query}`));
    expect(await page("&limit=5")).toEqual({ rowsRead: 6, rowsWritten: 0 });
    expect(await page("&limit=10")).toEqual({ rowsRead: 11, rowsWritten: 0 });
    expect(await page("&limit=5&status=complete")).toEqual({ rowsRead: 6, rowsWritten: 0 });
    const next = ((await (await api("/api/instances?workflow=test-listed&limit=5")).json()) as { next: string }).next;
    // After a cursor, one more: the seek lands on the cursor's own entry first.
    expect(await page(`&limit=5&cursor=${next}`)).toEqual({ rowsRead: 7, rowsWritten: 0 });
    expect(await indexCost("test-listed", () => api("/api/workflows"))).toEqual({ rowsRead: 7, rowsWritten: 0 });
  });

  it("deletes an instance for its runner's reads alone (deleteAll is not metered by rows) and 8 rows written in the index", async () => {
    const id = await start("test-listed");
    while (await flushIndex(id));
    let index: Cost = { rowsRead: 0, rowsWritten: 0 };
    const runner = await cost(id, async () => {
      index = await indexCost("test-listed", () => api(`/api/instances/${id}`, { method: "DELETE" }));
    });
    expect({ runner, index }).toEqual({
      runner: { rowsRead: 1, rowsWritten: 0 },
      // The entry removed (row and 2 index entries), its count, the tombstone (row and index entry),
      // and the tombstone purge task scheduled (the first since the last purge).
      index: { rowsRead: 10, rowsWritten: 8 },
    });
  });
});

describe("storage cost of the concurrency coordinator", () => {
  it("grants, renews, refuses and releases a slot for the rows of its slot, its place in line and the wake-up", async () => {
    const gate = env.WORKFLOW_COORDINATOR.getByName("cost-gate");
    const meter = () =>
      runInDurableObject(gate, (object: WorkflowCoordinator) => ({
        rowsRead: object.sql.meter.rowsRead,
        rowsWritten: object.sql.meter.rowsWritten,
      }));
    const costOf = async (action: () => Promise<unknown>) => {
      const before = await meter();
      await action();
      const after = await meter();
      return { rowsRead: after.rowsRead - before.rowsRead, rowsWritten: after.rowsWritten - before.rowsWritten };
    };
    const req = (id: string, ticket: number, createdAt: number) => ({
      id,
      incarnation: "x",
      ticket,
      createdAt,
      limit: 1,
    });
    const out = {
      first: await costOf(() => gate.acquire(req("a", 1, 1))),
      renew: await costOf(() => gate.acquire(req("a", 2, 1))),
      refused: await costOf(() => gate.acquire(req("b", 1, 2))),
      release: await costOf(() => gate.release("a", "x", 3, 1)),
      granted: await costOf(() => gate.acquire(req("b", 2, 2))),
    };
    expect(out).toEqual({
      // A free slot: the waitlist row written and removed, the slot row (and its lease index entry),
      // and the `reap` task scheduled for the lease's end (the queue's first task: its tables' rows).
      first: { rowsRead: 9, rowsWritten: 9 },
      // The next run of the same instance: the slot's ticket and lease (and its index entry), the reap task moved.
      renew: { rowsRead: 8, rowsWritten: 5 },
      // No free slot: a place in line (row and index entry).
      refused: { rowsRead: 4, rowsWritten: 2 },
      // The slot freed and given to the oldest waiter, who is woken through the queue.
      release: { rowsRead: 15, rowsWritten: 10 },
      // The woken instance's run: its slot is already there, renewed.
      granted: { rowsRead: 7, rowsWritten: 4 },
    });
  });
});
