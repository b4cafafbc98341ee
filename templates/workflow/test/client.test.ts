/**
 * The typed HTTP client (src/client.ts) talks to the same routes with types checked at compile time.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { workflowClient } from "../src/client";
import { T0, TOKEN, flushIndex, setClock, uniqueId } from "./helpers";

const client = workflowClient("https://workflow.example", {
  token: TOKEN,
  fetch: (input, init) => exports.default.fetch(new Request(input, init)),
});

describe("typed HTTP client", () => {
  it("starts an instance and reads it with typed parameters and responses", async () => {
    const id = uniqueId("hc");
    await setClock(id, T0);
    const created = await client.api.instances.$post({ json: { workflow: "daily-report", id } });
    expect(created.status).toBe(201);
    const read = await client.api.instances[":id"].$get({ param: { id } });
    const body = await read.json();
    expect(body).toMatchObject({ id, workflow: "daily-report", status: "queued" });
  });

  it("sends an event with an idempotency key, lists pending events and deletes one", async () => {
    const id = uniqueId("hc");
    await setClock(id, T0);
    await client.api.instances.$post({ json: { workflow: "test-waiter", id } });
    const events = client.api.instances[":id"].events;
    const send = () =>
      events[":type"].$post({ param: { id, type: "pong" }, json: { payload: "a", idempotencyKey: "hc-1" } });
    const first = await (await send()).json();
    expect(await (await send()).json()).toEqual(first);
    const page = await (await events.$get({ param: { id }, query: { limit: "10" } })).json();
    expect(page).toMatchObject({ events: [{ id: 1, type: "pong", payload: "a", idempotencyKey: "hc-1" }], next: null });
    const deleted = await events[":eventId"].$delete({ param: { id, eventId: "1" } });
    expect(deleted.status).toBe(204);
  });

  it("surfaces a refusal as a problem+json response", async () => {
    const response = await client.api.instances[":id"].pause.$post({ param: { id: uniqueId() } });
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
  });

  it("creates a batch, lists, counts and deletes with typed routes", async () => {
    const id = uniqueId("hc");
    await setClock(id, T0);
    const batch = await client.api.instances.batch.$post({ json: { instances: [{ workflow: "test-listed", id }] } });
    expect(await batch.json()).toEqual({ results: [{ ok: true, id, status: "queued" }] });
    const again = await client.api.instances.$post({ json: { workflow: "test-listed", id, onConflict: "return" } });
    expect(again.status).toBe(200);
    while (await flushIndex(id));
    const page = await (await client.api.instances.$get({ query: { workflow: "test-listed", limit: "100" } })).json();
    expect(page.instances.map((instance) => instance.id)).toContain(id);
    const { workflows } = await (await client.api.workflows.$get()).json();
    expect(workflows.map((workflow) => workflow.name)).toContain("test-listed");
    const deleted = await client.api.instances[":id"].$delete({ param: { id } });
    expect(deleted.status).toBe(204);
  });

  it("refuses a client without the token with 401", async () => {
    const anonymous = workflowClient("https://workflow.example", {
      fetch: (input, init) => exports.default.fetch(new Request(input, init)),
    });
    expect((await anonymous.api.workflows.$get()).status).toBe(401);
  });
});
