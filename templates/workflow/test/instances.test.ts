/**
 * Creating and cleaning up instances: `DELETE /api/instances/:id` frees a finished instance's
 * object, `"onConflict": "return"` makes a create safe to retry, and `POST /api/instances/batch`
 * creates up to 100 instances with one answer per item.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WorkflowRunner } from "../src/workflow-runner-object";
import {
  T0,
  api,
  countsOf,
  failIndexWriteOnce,
  flushIndex,
  instance,
  json,
  lifecycle,
  listPage,
  run,
  setClock,
  start,
  stub,
  uniqueId,
} from "./helpers";

/** What the object of `id` still holds: rows of its own tables, queue tasks, and whether an alarm is set. */
async function storageOf(id: string) {
  return runInDurableObject(stub(id), async (runner: WorkflowRunner, state) => {
    const rows = (table: string) =>
      runner.sql.hasTable(table) ? runner.sql.one<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)!.n : 0;
    return {
      instance: rows("instance"),
      steps: rows("steps"),
      events: rows("events"),
      tasks: rows("_alarm_queue_tasks"),
      alarm: await state.storage.getAlarm(),
    };
  });
}

const remove = (id: string) => api(`/api/instances/${id}`, { method: "DELETE" });

describe("DELETE /api/instances/:id", () => {
  for (const [status, params, drive] of [
    ["complete", undefined, (id: string) => run(id)],
    ["errored", { fail: true }, (id: string) => run(id)],
    ["terminated", undefined, (id: string) => lifecycle(id, "terminate")],
  ] as const) {
    it(`deletes a ${status} instance: 204, its object's storage freed, its index entry gone, then 404`, async () => {
      const id = await start("test-listed", params);
      await api(`/api/instances/${id}/events/go`, json("POST", { payload: 1 }));
      await drive(id);
      while (await flushIndex(id));
      expect((await instance(id)).status).toBe(status);
      expect((await listPage(`?workflow=test-listed&status=${status}&limit=100`)).instances.map((i) => i.id)).toContain(
        id,
      );
      const counted = (await countsOf("test-listed"))[status];
      const response = await remove(id);
      expect(response.status).toBe(204);
      expect(await response.text()).toBe("");
      // Every row deleted and the alarm (retention, index) cleared: what any unused id's object holds.
      expect(await storageOf(id)).toEqual({ instance: 0, steps: 0, events: 0, tasks: 0, alarm: null });
      expect((await api(`/api/instances/${id}`)).status).toBe(404);
      expect(
        (await listPage(`?workflow=test-listed&status=${status}&limit=100`)).instances.map((i) => i.id),
      ).not.toContain(id);
      expect((await countsOf("test-listed"))[status]).toBe(counted - 1);
      // Deleted once: a second DELETE finds nothing.
      expect((await remove(id)).status).toBe(404);
    });
  }

  it("refuses to delete a queued, waiting or paused instance with 409 illegal-transition, and changes nothing", async () => {
    const queued = await start("test-listed");
    const waiting = await start("test-listed", { wait: true });
    await run(waiting);
    const paused = await start("test-listed");
    await lifecycle(paused, "pause");
    for (const [id, status] of [
      [queued, "queued"],
      [waiting, "waiting"],
      [paused, "paused"],
    ] as const) {
      const before = await instance(id);
      const response = await remove(id);
      expect(response.status).toBe(409);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(await response.json()).toMatchObject({
        type: "urn:durable-patterns:problem:illegal-transition",
        instanceStatus: status,
        action: "delete",
      });
      expect(await instance(id)).toEqual(before);
    }
  });

  it("answers 503 and deletes nothing when the workflow's index cannot be updated; a retry deletes", async () => {
    const id = await start("test-listed");
    await run(id);
    while (await flushIndex(id));
    // The index's next tombstone write throws once: its `remove` fails, its transaction rolled back.
    await failIndexWriteOnce("test-listed", "INSERT INTO tombstones");
    const refused = await remove(id);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toMatchObject({ type: "urn:durable-patterns:problem:index-unavailable" });
    expect((await instance(id)).status).toBe("complete");
    expect((await listPage("?workflow=test-listed&status=complete&limit=100")).instances.map((i) => i.id)).toContain(
      id,
    );
    expect((await remove(id)).status).toBe(204);
    expect((await api(`/api/instances/${id}`)).status).toBe(404);
  });

  it("answers 404 for an instance that does not exist, and 400 for a bad id", async () => {
    const missing = await remove(uniqueId("none"));
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: "urn:durable-patterns:problem:no-such-instance" });
    expect((await remove("-bad")).status).toBe(400);
  });

  it("lets the id be used again: a new instance, with nothing of the deleted one", async () => {
    const id = await start("test-listed");
    await run(id);
    expect((await remove(id)).status).toBe(204);
    await start("test-waiter", undefined, { id });
    const view = await instance(id);
    expect(view).toMatchObject({ id, workflow: "test-waiter", status: "queued", steps: [] });
  });
});

describe("POST /api/instances with onConflict", () => {
  it('answers 200 with the existing instance for "onConflict": "return", and stores nothing', async () => {
    const id = await start("test-listed", { wait: true });
    await run(id);
    const before = await instance(id);
    const again = await api("/api/instances", json("POST", { workflow: "test-listed", id, onConflict: "return" }));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id, status: "waiting" });
    expect(await instance(id)).toEqual(before);
  });

  it("still answers 409 by default, with onConflict error, and for an id another workflow holds", async () => {
    const id = await start("test-listed");
    for (const body of [
      { workflow: "test-listed", id },
      { workflow: "test-listed", id, onConflict: "error" },
      { workflow: "test-waiter", id, onConflict: "return" },
    ]) {
      const response = await api("/api/instances", json("POST", body));
      expect(response.status, JSON.stringify(body)).toBe(409);
      expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:instance-exists" });
    }
  });

  it("refuses an unknown onConflict with 422", async () => {
    const response = await api(
      "/api/instances",
      json("POST", { workflow: "test-listed", id: uniqueId(), onConflict: "replace" }),
    );
    expect(response.status).toBe(422);
  });
});

describe("POST /api/instances/batch", () => {
  it("answers one result per item, in order: a bad item refuses only itself", async () => {
    const taken = await start("test-listed");
    const [fresh, again] = [uniqueId("batch"), uniqueId("batch")];
    await setClock(fresh, T0);
    const response = await api(
      "/api/instances/batch",
      json("POST", {
        instances: [
          { workflow: "test-listed", id: fresh },
          { workflow: "nope", id: uniqueId() },
          { workflow: "test-listed", id: "-bad" },
          { workflow: "test-listed", id: taken },
          { workflow: "test-listed", id: taken, onConflict: "return" },
          { workflow: "test-listed", id: again, extra: 1 },
          "not an object",
        ],
      }),
    );
    expect(response.status).toBe(200);
    const { results } = (await response.json()) as { results: unknown[] };
    expect(results).toEqual([
      { ok: true, id: fresh, status: "queued" },
      {
        ok: false,
        status: 422,
        type: "urn:durable-patterns:problem:unknown-workflow",
        detail: 'There is no workflow "nope".',
      },
      { ok: false, status: 422, type: "urn:durable-patterns:problem:invalid-body", detail: expect.any(String) },
      {
        ok: false,
        status: 409,
        type: "urn:durable-patterns:problem:instance-exists",
        detail: `An instance "${taken}" already exists.`,
      },
      { ok: true, id: taken, status: "queued" },
      { ok: false, status: 422, type: "urn:durable-patterns:problem:invalid-body", detail: expect.any(String) },
      { ok: false, status: 422, type: "urn:durable-patterns:problem:invalid-body", detail: expect.any(String) },
    ]);
    expect((await instance(fresh)).status).toBe("queued");
    // Refused items stored nothing.
    expect((await api(`/api/instances/${again}`)).status).toBe(404);
  });

  it("creates 100 instances in one request, and refuses 0 or 101 items with 422", async () => {
    const ids = Array.from({ length: 100 }, () => uniqueId("many"));
    const response = await api(
      "/api/instances/batch",
      json("POST", { instances: ids.map((id) => ({ workflow: "test-listed", id })) }),
    );
    expect(response.status).toBe(200);
    const { results } = (await response.json()) as { results: { ok: boolean; id: string }[] };
    expect(results.map((result) => [result.ok, result.id])).toEqual(ids.map((id) => [true, id]));
    for (const id of ids.slice(0, 3)) expect((await instance(id)).status).toBe("queued");
    for (const count of [0, 101]) {
      const refused = await api(
        "/api/instances/batch",
        json("POST", { instances: Array.from({ length: count }, () => ({ workflow: "test-listed" })) }),
      );
      expect(refused.status, `${count} items`).toBe(422);
    }
    expect((await api("/api/instances/batch", json("POST", { instances: "x" }))).status).toBe(422);
    // Terminated, so their alarms do not fire later in another test.
    await Promise.all(ids.map((id) => lifecycle(id, "terminate")));
  });
});
