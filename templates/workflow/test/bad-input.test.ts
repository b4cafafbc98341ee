/**
 * Bad input of every kind is refused at the edge with a problem+json 4xx, and nothing is stored.
 */
import { describe, expect, it } from "vitest";
import { api, instance, json, run, sendEvent, start, uniqueId } from "./helpers";

async function expectProblem(response: Response, status: number, type?: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const body = (await response.json()) as { type: string };
  if (type) expect(body.type).toBe(`urn:durable-patterns:problem:${type}`);
  return body;
}

/** The instance was never created. */
async function expectNoInstance(id: string) {
  expect((await api(`/api/instances/${id}`)).status).toBe(404);
}

describe("bad input to POST /api/instances", () => {
  it("refuses an unknown workflow with a 422 that lists the known ones", async () => {
    const id = uniqueId();
    const body = await expectProblem(
      await api("/api/instances", json("POST", { workflow: "nope", id })),
      422,
      "unknown-workflow",
    );
    expect(body).toMatchObject({ known: expect.arrayContaining(["order", "daily-report"]) });
    await expectNoInstance(id);
  });

  it.each([
    ["starts with a dash", "-abc"],
    ["is too long", "a".repeat(65)],
    ["has a slash", "a/b"],
    ["is empty", ""],
  ])("refuses an id that %s with a 422", async (_why, id) => {
    await expectProblem(await api("/api/instances", json("POST", { workflow: "order", id })), 422, "invalid-body");
  });

  it("refuses params the workflow's schema rejects, with the field in error", async () => {
    const id = uniqueId();
    const body = await expectProblem(
      await api("/api/instances", json("POST", { workflow: "order", id, params: { orderId: "o", amount: -1 } })),
      422,
      "invalid-params",
    );
    expect(body).toMatchObject({ errors: [{ path: "amount", message: expect.any(String) }] });
    await expectNoInstance(id);
  });

  it("refuses params over 1 MiB with a 413 before reading them", async () => {
    const id = uniqueId();
    const params = { blob: "x".repeat(1024 * 1024) };
    await expectProblem(
      await api("/api/instances", json("POST", { workflow: "test-steps", id, params })),
      413,
      "body-too-large",
    );
    await expectNoInstance(id);
  });

  it("refuses malformed JSON with a 400", async () => {
    const response = await api("/api/instances", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"workflow": "order",',
    });
    await expectProblem(response, 400);
  });

  it("refuses a body that is not JSON with a 415", async () => {
    const response = await api("/api/instances", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: '{"workflow":"order"}',
    });
    await expectProblem(response, 415, "unsupported-media-type");
  });

  it("refuses unknown fields with a 422", async () => {
    await expectProblem(
      await api("/api/instances", json("POST", { workflow: "order", priority: "high" })),
      422,
      "invalid-body",
    );
  });

  it("refuses an empty body with a 400", async () => {
    await expectProblem(await api("/api/instances", { method: "POST" }), 400, "missing-body");
  });
});

describe("bad input to the instance routes", () => {
  it("refuses a malformed id in the path with a 400", async () => {
    await expectProblem(await api("/api/instances/-bad"), 400, "invalid-path-parameter");
    await expectProblem(await api("/api/instances/bad!id/pause", { method: "POST" }), 400, "invalid-path-parameter");
  });

  it("refuses a malformed event type with a 400 and stores nothing", async () => {
    const id = await start("test-waiter");
    await expectProblem(await sendEvent(id, "bad type!", 1), 400, "invalid-path-parameter");
    await run(id);
    expect((await instance(id)).steps[0]!.status).toBe("waiting");
  });

  it("refuses an event payload over 1 MiB with a 413 and stores nothing", async () => {
    const id = await start("test-waiter");
    await expectProblem(await sendEvent(id, "ping", "x".repeat(1024 * 1024)), 413, "body-too-large");
    await run(id);
    expect((await instance(id)).steps[0]!.status).toBe("waiting");
  });

  it("refuses a restart body with unknown fields with a 422", async () => {
    const id = await start("test-waiter");
    await expectProblem(await api(`/api/instances/${id}/restart`, json("POST", { step: "x" })), 422, "invalid-body");
    expect((await instance(id)).status).toBe("queued");
  });
});
