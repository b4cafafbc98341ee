/**
 * Finding instances: `GET /api/instances` pages through the workflows' indexes (one WorkflowIndex
 * object per workflow), `GET /api/workflows` counts them per status. A status change and the
 * intent to update the index commit together in the instance's own transaction (its `index` task);
 * the runner's alarm sends the update after, at least once, and the index applies each version
 * once. The instances here are created with clocks far in the future, so that they are the newest
 * of their workflow whatever other tests created.
 */
import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { INSTANCE_STATUSES, type InstanceStatus, type StatusCounts } from "../src/protocol";
import type { WorkflowIndex } from "../src/workflow-index-object";
import {
  api,
  countsOf,
  failIndexWriteOnce,
  flushIndex,
  indexStub,
  indexUpdateAt,
  indexUpdateOf,
  lifecycle,
  listPage,
  run,
  setClock,
  start,
  stub,
  uniqueId,
} from "./helpers";

const YEAR = 365 * 86_400_000;
/** Far-future creation times, a different one per test, so each test's instances are the newest. */
const base = (n: number) => Date.UTC(2100, 0, 1) + n * YEAR;

/**
 * Starts an instance of `workflow` at `at` and fires its alarm until no index update is pending:
 * the first alarm sends `queued` and runs the instance (until it completes, fails or waits), the
 * next sends the status that run left.
 */
async function startIndexed(workflow: string, at: number, params?: unknown): Promise<string> {
  const id = await start(workflow, params, { at });
  await settle(id);
  return id;
}

/** Fires the instance's alarm until its index has every change. */
async function settle(id: string): Promise<void> {
  for (let i = 0; i < 5 && (await flushIndex(id)); i++);
  expect(await indexUpdateAt(id)).toBeNull();
}

/** The counts of `test-listed` minus `before`, without the zeros. */
async function countsSince(before: StatusCounts): Promise<Partial<StatusCounts>> {
  const now = await countsOf("test-listed");
  const delta: Partial<StatusCounts> = {};
  for (const status of Object.keys(now) as InstanceStatus[]) {
    if (now[status] !== before[status]) delta[status] = now[status] - before[status];
  }
  return delta;
}

/** The row the index holds for `id`, or null. */
async function entryOf(workflow: string, id: string) {
  return runInDurableObject(indexStub(workflow), (index: WorkflowIndex) =>
    index.sql.one<{ status: string; version: number }>("SELECT status, version FROM entries WHERE id = ?", id),
  );
}

describe("GET /api/instances", () => {
  it("lists a workflow's instances newest first, a page at a time, each with its exact fields", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await startIndexed("test-listed", base(10) + i * 1000));
    const first = await listPage("?workflow=test-listed&limit=2");
    expect(first.instances).toEqual([
      {
        id: ids[4],
        workflow: "test-listed",
        status: "complete",
        createdAt: new Date(base(10) + 4000).toISOString(),
        updatedAt: new Date(base(10) + 4000).toISOString(),
      },
      {
        id: ids[3],
        workflow: "test-listed",
        status: "complete",
        createdAt: new Date(base(10) + 3000).toISOString(),
        updatedAt: new Date(base(10) + 3000).toISOString(),
      },
    ]);
    expect(first.next).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = await listPage(`?workflow=test-listed&limit=2&cursor=${first.next}`);
    expect(second.instances.map((instance) => instance.id)).toEqual([ids[2], ids[1]]);
    const third = await listPage(`?workflow=test-listed&limit=2&cursor=${second.next}`);
    expect(third).toEqual({ instances: [expect.objectContaining({ id: ids[0] })], next: null });
  });

  it("orders instances created in the same millisecond by id, and pages through them without a gap or a repeat", async () => {
    const at = base(11);
    const ids = ["same-ms-c", "same-ms-a", "same-ms-b"].map((prefix) => uniqueId(prefix));
    for (const id of ids) {
      await start("test-listed", undefined, { id, at });
      await settle(id);
    }
    const seen: string[] = [];
    let cursor = "";
    for (let page = 0; page < 3; page++) {
      const result = await listPage(`?workflow=test-listed&limit=1${cursor}`);
      seen.push(result.instances[0]!.id);
      cursor = `&cursor=${result.next}`;
    }
    expect(seen).toEqual([...ids].sort().reverse());
  });

  it("filters by status, and shows each instance in the status its last change left it", async () => {
    const at = base(12);
    const done = await startIndexed("test-listed", at);
    const failed = await startIndexed("test-listed", at + 1, { fail: true });
    const waiting = await startIndexed("test-listed", at + 2, { wait: true });
    const terminated = await startIndexed("test-listed", at + 3, { wait: true });
    const paused = await start("test-listed", undefined, { at: at + 4 });
    await lifecycle(paused, "pause");
    await setClock(terminated, at + 10);
    await lifecycle(terminated, "terminate");
    for (const id of [paused, terminated]) await settle(id);
    const statusOf = async (status: InstanceStatus) =>
      (await listPage(`?workflow=test-listed&status=${status}&limit=100`)).instances.filter(
        (instance) => instance.createdAt >= new Date(at).toISOString(),
      );
    expect((await statusOf("complete")).map((i) => i.id)).toEqual([done]);
    expect((await statusOf("errored")).map((i) => i.id)).toEqual([failed]);
    expect((await statusOf("waiting")).map((i) => i.id)).toEqual([waiting]);
    expect((await statusOf("paused")).map((i) => i.id)).toEqual([paused]);
    expect((await statusOf("terminated")).map((i) => i.id)).toEqual([terminated]);
    expect((await statusOf("queued")).map((i) => i.id)).toEqual([]);
    const [stopped] = await statusOf("terminated");
    expect(stopped).toEqual({
      id: terminated,
      workflow: "test-listed",
      status: "terminated",
      createdAt: new Date(at + 3).toISOString(),
      updatedAt: new Date(at + 10).toISOString(),
    });
  });

  it("merges every workflow's index when no workflow is given, newest first across workflows", async () => {
    const at = base(20);
    const a = await startIndexed("test-listed", at + 3);
    const b = await startIndexed("test-retained", at + 2);
    const c = await startIndexed("test-listed", at + 1);
    const d = await startIndexed("test-retained", at);
    const first = await listPage("?limit=3");
    expect(first.instances.map((i) => [i.id, i.workflow])).toEqual([
      [a, "test-listed"],
      [b, "test-retained"],
      [c, "test-listed"],
    ]);
    const second = await listPage(`?limit=1&cursor=${first.next}`);
    expect(second.instances.map((i) => i.id)).toEqual([d]);
  });

  it("refuses an unknown filter, status or workflow with 422, and a malformed limit or cursor with 400", async () => {
    const cases: [string, number, string][] = [
      ["?color=red", 422, "unknown-filter"],
      ["?status=sleeping", 422, "unknown-status"],
      ["?workflow=nope", 422, "unknown-workflow"],
      ["?limit=0", 400, "invalid-query"],
      ["?limit=101", 400, "invalid-query"],
      ["?limit=ten", 400, "invalid-query"],
      ["?cursor=not-a-cursor", 400, "invalid-query"],
      ["?cursor=%%%", 400, "invalid-query"],
    ];
    for (const [query, status, type] of cases) {
      const response = await api(`/api/instances${query}`);
      expect(response.status, query).toBe(status);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(((await response.json()) as { type: string }).type).toBe(`urn:durable-patterns:problem:${type}`);
    }
  });
});

describe("GET /api/workflows", () => {
  it("lists every registered workflow with every status counted, zeros included", async () => {
    const response = await api("/api/workflows");
    expect(response.status).toBe(200);
    const { workflows } = (await response.json()) as { workflows: { name: string; counts: StatusCounts }[] };
    expect(workflows.map((workflow) => workflow.name)).toContain("order");
    expect(workflows.map((workflow) => workflow.name)).toContain("daily-report");
    for (const workflow of workflows) {
      expect(Object.keys(workflow.counts)).toEqual(INSTANCE_STATUSES);
    }
    expect(workflows.find((workflow) => workflow.name === "order")!.counts).toEqual({
      queued: 0,
      running: 0,
      paused: 0,
      waiting: 0,
      errored: 0,
      terminated: 0,
      complete: 0,
    });
  });

  it("moves an instance between counts as its status changes, once per change", async () => {
    const before = await countsOf("test-listed");
    const id = await start("test-listed", { wait: true }, { at: base(30) });
    // Each alarm sends the index what the status is when it runs: after the create (or a restart)
    // `queued`, then the status the run left (`waiting`).
    const changes: [action: string | null, counts: Partial<StatusCounts>][] = [
      [null, { queued: 1 }],
      [null, { waiting: 1 }],
      ["terminate", { terminated: 1 }],
      ["restart", { queued: 1 }],
      [null, { waiting: 1 }],
      ["terminate", { terminated: 1 }],
    ];
    for (const [action, counts] of changes) {
      if (action) await lifecycle(id, action);
      await flushIndex(id);
      expect(await countsSince(before), action ?? "alarm").toEqual(counts);
    }
  });
});

describe("the index under crashes, repeats and late updates", () => {
  it("commits the intent to update the index with the status change, due at once", async () => {
    const at = base(40);
    const id = await start("test-listed", undefined, { at });
    // The create and its index task are one transaction: the task is there, due at the create.
    expect(await indexUpdateAt(id)).toBe(at);
    // One alarm: the index task (first, it is older) sends `queued`, then the run completes the instance.
    await run(id);
    expect(await entryOf("test-listed", id)).toEqual({ status: "queued", version: 1 });
    // A change made by a run is due right after it: the queue runs what a run schedules in its next alarm.
    expect(await indexUpdateAt(id)).toBe(at + 1);
    await flushIndex(id);
    expect(await entryOf("test-listed", id)).toEqual({ status: "complete", version: 3 });
    expect(await indexUpdateAt(id)).toBeNull();
  });

  it("still delivers an update whose object was evicted or aborted before sending it, and counts it once", async () => {
    const before = await countsOf("test-listed");
    const id = await start("test-listed", undefined, { at: base(41) });
    await evictDurableObject(stub(id));
    expect(await flushIndex(id)).toBe(true);
    expect(await countsSince(before)).toEqual({ queued: 1 });
    // The same alarm ran the instance to `complete`; killed now, after that change committed and
    // before its index update ran.
    await abortAllDurableObjects();
    expect(await entryOf("test-listed", id)).toEqual({ status: "queued", version: 1 });
    expect(await flushIndex(id)).toBe(true);
    expect(await entryOf("test-listed", id)).toEqual({ status: "complete", version: 3 });
    expect(await countsSince(before)).toEqual({ complete: 1 });
    expect(await flushIndex(id)).toBe(false);
  });

  it("retries an update the index failed to store (a storage call throwing once), and applies it once", async () => {
    const before = await countsOf("test-listed");
    const id = await start("test-listed", undefined, { at: base(42) });
    await lifecycle(id, "pause"); // nothing else will change it: only the index update is pending
    await failIndexWriteOnce("test-listed", "INSERT INTO entries");
    await flushIndex(id);
    // The attempt failed and nothing was stored: the task is retried after its backoff.
    expect(await entryOf("test-listed", id)).toBeNull();
    expect(await countsSince(before)).toEqual({});
    const retryAt = (await indexUpdateAt(id))!;
    expect(retryAt).toBeGreaterThan(base(42));
    expect(retryAt).toBeLessThanOrEqual(base(42) + 1_000);
    expect(await flushIndex(id)).toBe(true);
    expect(await entryOf("test-listed", id)).toEqual({ status: "paused", version: 2 });
    expect(await countsSince(before)).toEqual({ paused: 1 });
    await lifecycle(id, "terminate");
    await flushIndex(id);
  });

  it("ignores a repeated update and an older one that arrives late: an entry never moves back", async () => {
    const id = await startIndexed("test-listed", base(43));
    const complete = await indexUpdateOf(id);
    const queued = { ...complete, status: "queued" as const, version: 1 };
    const before = await countsOf("test-listed");
    const index = indexStub("test-listed");
    expect(await index.apply(complete)).toBe(false); // the same version again
    expect(await index.apply(queued)).toBe(false); // an older one, late
    expect(await entryOf("test-listed", id)).toEqual({ status: "complete", version: 3 });
    expect(await countsSince(before)).toEqual({});
  });

  it("never brings back a deleted instance's entry with an update of it still in flight, and lists its id again once re-created", async () => {
    const id = await start("test-listed", undefined, { at: base(44) });
    await run(id); // the index has `queued`; the instance completed, and that update is not sent yet
    const late = await indexUpdateOf(id);
    const before = await countsOf("test-listed");
    expect((await api(`/api/instances/${id}`, { method: "DELETE" })).status).toBe(204);
    expect(await countsSince(before)).toEqual({ queued: -1 });
    // The update the deleted instance was about to send arrives after the delete.
    expect(await indexStub("test-listed").apply(late)).toBe(false);
    expect(await entryOf("test-listed", id)).toBeNull();
    expect(await countsSince(before)).toEqual({ queued: -1 });
    // The same id, created again, is another incarnation: indexed as any new instance.
    await start("test-listed", undefined, { id, at: base(44) + 3 });
    await flushIndex(id);
    expect(await entryOf("test-listed", id)).toEqual({ status: "queued", version: 1 });
    await lifecycle(id, "terminate");
  });
});
