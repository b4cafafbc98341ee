/**
 * The RPC service for other Workers (`WorkflowService`, bound with a service binding's
 * `entrypoint`): the same operations as HTTP, typed by the class, refusals as values.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { T0, flushIndex, instance, run, setClock, start, uniqueId } from "./helpers";

const service = exports.WorkflowService;

describe("WorkflowService (RPC)", () => {
  it("starts an instance, sends it an event and reads its steps", async () => {
    const id = uniqueId("rpc");
    await setClock(id, T0);
    const started = await service.start({ workflow: "order", id, params: { orderId: "rpc-1", amount: 5 } });
    expect(started).toEqual({ ok: true, instance: { id, status: "queued" }, created: true });
    await run(id);
    expect(await service.sendEvent(id, "approval", { approved: true })).toEqual({
      ok: true,
      instance: { id, status: "waiting" },
      eventId: 1,
    });
    await run(id);
    const view = await service.get(id);
    expect(view?.status).toBe("complete");
    expect(view?.steps.map((s) => s.name)).toEqual(["reserve stock", "charge card", "wait for approval", "ship"]);
    expect(await instance(id)).toEqual(view);
  });

  it("sends an event once however often it is retried with the same idempotency key", async () => {
    const id = uniqueId("rpc");
    await setClock(id, T0);
    await service.start({ workflow: "test-waiter", id });
    const first = await service.sendEvent(id, "ping", "one", { idempotencyKey: "rpc-ping-1" });
    expect(first).toMatchObject({ ok: true, instance: { id, status: "queued" } });
    expect(await service.sendEvent(id, "ping", "one", { idempotencyKey: "rpc-ping-1" })).toEqual(first);
    expect(await service.sendEvent(id, "ping", "one", { idempotencyKey: "bad key" })).toMatchObject({
      ok: false,
      reason: "invalid_input",
    });
    await run(id);
    expect((await instance(id)).steps.map((s) => s.status)).toEqual(["complete", "waiting"]);
  });

  it("lists pending events and deletes one", async () => {
    const id = uniqueId("rpc");
    await setClock(id, T0);
    await service.start({ workflow: "test-waiter", id });
    await service.sendEvent(id, "pong", "a");
    await service.sendEvent(id, "pong", "b");
    const listed = await service.listEvents(id, { limit: 1 });
    expect(listed).toMatchObject({
      ok: true,
      page: { events: [{ id: 1, type: "pong", payload: "a" }], next: "pong~1" },
    });
    expect(await service.deleteEvent(id, 1)).toEqual({ ok: true });
    expect(await service.deleteEvent(id, 1)).toEqual({ ok: false, reason: "no_such_event", eventId: 1 });
    expect(await service.listEvents(id)).toMatchObject({
      ok: true,
      page: { events: [{ id: 2, payload: "b" }], next: null },
    });
    expect(await service.listEvents(id, { limit: 0 })).toMatchObject({ ok: false, reason: "invalid_input" });
  });

  it("restarts from the n-th call of a step", async () => {
    const id = uniqueId("rpc");
    await setClock(id, T0);
    await service.start({ workflow: "test-repeated", id });
    await run(id);
    expect(await service.restart(id, { name: "fetch", count: 3 })).toEqual({
      ok: true,
      instance: { id, status: "queued" },
    });
    expect((await instance(id)).steps.map((s) => s.key)).toEqual(["fetch#1", "fetch#2"]);
    expect(await service.restart(id, { name: "fetch", count: 9 })).toEqual({
      ok: false,
      reason: "no_such_step",
      step: "fetch",
      count: 9,
      calls: 2,
    });
    expect(await service.restart(id, { name: "fetch", count: 0 })).toMatchObject({
      ok: false,
      reason: "invalid_input",
    });
  });

  it("returns refusals as values a caller can switch on", async () => {
    expect(await service.start({ workflow: "nope" })).toMatchObject({ ok: false, reason: "unknown_workflow" });
    expect(await service.start({ workflow: "order", params: { orderId: "x" } })).toMatchObject({
      ok: false,
      reason: "invalid_params",
    });
    expect(await service.pause(uniqueId())).toEqual({ ok: false, reason: "not_found" });
    expect(await service.get(uniqueId())).toBeNull();
  });

  it("refuses a malformed id or an oversized payload, like the HTTP 400 and 413", async () => {
    expect(await service.pause("-bad")).toMatchObject({
      ok: false,
      reason: "invalid_input",
      detail: expect.stringContaining('Invalid id "-bad"'),
    });
    expect(await service.get("-bad")).toBeNull();
    expect(await service.sendEvent("ok-id", "ping", "x".repeat(1024 * 1024 + 1))).toMatchObject({
      ok: false,
      reason: "invalid_input",
      detail: "The payload is 1048579 bytes of JSON; at most 1048576.",
    });
  });

  it("starts a batch, returns an existing instance with onConflict, lists, counts and deletes, refusals as values", async () => {
    const [a, b] = [uniqueId("rpc"), uniqueId("rpc")];
    await Promise.all([setClock(a, Date.UTC(2190 - 1, 0, 1)), setClock(b, Date.UTC(2190 - 1, 0, 1) + 1)]);
    const batch = await service.startBatch([
      { workflow: "test-listed", id: a },
      { workflow: "test-listed", id: b },
      { workflow: "nope" },
      { workflow: "test-listed", id: "-bad" },
    ]);
    expect(batch).toEqual([
      { ok: true, instance: { id: a, status: "queued" }, created: true },
      { ok: true, instance: { id: b, status: "queued" }, created: true },
      { ok: false, reason: "unknown_workflow", workflow: "nope", known: expect.any(Array) },
      { ok: false, reason: "invalid_input", detail: expect.stringContaining("Invalid id") },
    ]);
    expect(await service.startBatch([])).toMatchObject({ ok: false, reason: "invalid_input" });
    expect(await service.start({ workflow: "test-listed", id: a, onConflict: "return" })).toEqual({
      ok: true,
      instance: { id: a, status: "queued" },
      created: false,
    });
    for (const id of [a, b]) while (await flushIndex(id));
    const listed = await service.list({ workflow: "test-listed", limit: 1 });
    expect(listed).toMatchObject({ ok: true, page: { instances: [{ id: b, status: "complete" }] } });
    const next = (listed as { page: { next: string } }).page.next;
    expect(await service.list({ workflow: "test-listed", limit: 1, cursor: next })).toMatchObject({
      ok: true,
      page: { instances: [{ id: a }] },
    });
    expect(await service.list({ workflow: "nope" })).toMatchObject({ ok: false, reason: "unknown_workflow" });
    expect(await service.list({ limit: 0 })).toMatchObject({ ok: false, reason: "invalid_input" });
    expect(await service.list({ cursor: "garbage" })).toMatchObject({ ok: false, reason: "invalid_input" });
    const counts = await service.counts();
    expect(counts.find((workflow) => workflow.name === "test-listed")!.counts.complete).toBeGreaterThanOrEqual(2);
    expect(await service.delete(a)).toEqual({ ok: true });
    expect(await service.get(a)).toBeNull();
    expect(await service.delete(a)).toEqual({ ok: false, reason: "not_found" });
    const queued = await start("test-listed", { wait: true });
    expect(await service.delete(queued)).toEqual({
      ok: false,
      reason: "illegal_transition",
      status: "queued",
      action: "delete",
    });
    expect(await service.delete("-bad")).toMatchObject({ ok: false, reason: "invalid_input" });
  });
});
