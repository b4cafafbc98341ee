/**
 * Every /api route but the health check needs `Authorization: Bearer <WORKFLOW_TOKEN>`; the
 * WebSocket route also takes `?token=` (browsers cannot set headers on a WebSocket). A missing or
 * wrong token is a 401 that touches no object; an unset secret a 503 (fail closed).
 */
import { expectFailsClosed, expectUnauthorized, expectWrongTokensRefused } from "../src/shared/testing";
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
      await expectUnauthorized(response, "workflow", `${method} ${path}`);
    }
  });

  it("refuses a wrong token (longer, shorter, one byte off, one byte more), a wrong scheme and ?token= on an ordinary route", () =>
    expectWrongTokensRefused(api, "/api/workflows", TOKEN, "workflow"));

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
    await expectFailsClosed(requireToken(), { WORKFLOW_TOKEN: "" } as Env);
  });
});
