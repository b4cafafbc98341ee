/**
 * Every /api route but the health check needs `Authorization: Bearer <WORKFLOW_TOKEN>`; the
 * WebSocket route also takes `?token=` (browsers cannot set headers on a WebSocket). A missing or
 * wrong token is a 401 that touches no object; an unset secret a 503 (fail closed).
 */
import { Hono } from "hono";
import { onError } from "../src/shared";
import { describe, expect, it } from "vitest";
import { requireToken } from "../src/auth";
import { TOKEN, api, json, start, uniqueId } from "./helpers";

describe("bearer token", () => {
  it("refuses every route without a token with 401, a problem and WWW-Authenticate: Bearer", async () => {
    const id = uniqueId();
    for (const [method, path] of [
      ["POST", "/api/instances"],
      ["POST", "/api/instances/batch"],
      ["GET", "/api/instances"],
      ["GET", "/api/workflows"],
      ["GET", `/api/instances/${id}`],
      ["DELETE", `/api/instances/${id}`],
      ["POST", `/api/instances/${id}/terminate`],
      ["POST", `/api/instances/${id}/events/go`],
      ["GET", `/api/instances/${id}/events`],
      ["GET", "/api/schedules"],
      ["GET", `/api/instances/${id}/websocket`],
    ]) {
      const response = await api(path!, { method, headers: { authorization: "" } });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="workflow"');
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(await response.json()).toMatchObject({ status: 401, type: "urn:durable-patterns:problem:unauthorized" });
    }
  });

  it("refuses a wrong token (longer, shorter, one byte off), a wrong scheme and ?token= on an ordinary route", async () => {
    for (const [path, authorization] of [
      ["/api/workflows", "Bearer wrong-token"],
      ["/api/workflows", `Bearer ${TOKEN}-but-longer`],
      ["/api/workflows", "Bearer test-toke"],
      ["/api/workflows", "Bearer test-tokeN"],
      ["/api/workflows", "Basic dGVzdC10b2tlbg=="],
      [`/api/workflows?token=${TOKEN}`, ""],
    ] as const) {
      const response = await api(path, { headers: { authorization } });
      expect(response.status, `${path} ${authorization}`).toBe(401);
    }
    const wrong = await api("/api/workflows", { headers: { authorization: "Bearer wrong-token" } });
    expect(wrong.headers.get("www-authenticate")).toBe('Bearer realm="workflow", error="invalid_token"');
  });

  it("creates nothing and changes nothing for a request without a valid token", async () => {
    const id = uniqueId();
    const created = await api(
      "/api/instances",
      json("POST", { workflow: "test-listed", id }, { authorization: "Bearer nope" }),
    );
    expect(created.status).toBe(401);
    expect((await api(`/api/instances/${id}`)).status).toBe(404);
    const existing = await start("test-listed");
    const terminated = await api(`/api/instances/${existing}/terminate`, {
      method: "POST",
      headers: { authorization: "" },
    });
    expect(terminated.status).toBe(401);
    expect(((await (await api(`/api/instances/${existing}`)).json()) as { status: string }).status).toBe("queued");
    await api(`/api/instances/${existing}/terminate`, { method: "POST" });
  });

  it("accepts the token as ?token= on the WebSocket route only", async () => {
    const id = await start("test-listed");
    const socket = await api(`/api/instances/${id}/websocket?token=${TOKEN}`, {
      headers: { upgrade: "websocket", authorization: "" },
    });
    expect(socket.status).toBe(101);
    socket.webSocket!.accept();
    socket.webSocket!.close(1000, "done");
    const wrong = await api(`/api/instances/${id}/websocket?token=wrong`, {
      headers: { upgrade: "websocket", authorization: "" },
    });
    expect(wrong.status).toBe(401);
    await api(`/api/instances/${id}/terminate`, { method: "POST" });
  });

  it("leaves GET /api/health open", async () => {
    const response = await api("/api/health", { headers: { authorization: "" } });
    expect(response.status).toBe(200);
  });

  it("fails closed with 503 when WORKFLOW_TOKEN is not set, whatever the request sends", async () => {
    // The app's own middleware on a bare router, with an environment lacking the secret.
    const app = new Hono<{ Bindings: Env }>().use(requireToken()).get("/", (c) => c.text("open"));
    app.onError(onError);
    for (const authorization of ["Bearer ", "Bearer anything", ""]) {
      const response = await app.request("/", { headers: { authorization } }, { WORKFLOW_TOKEN: "" } as Env);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:not-configured" });
    }
  });
});
