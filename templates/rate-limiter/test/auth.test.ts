/** Every /api route needs the bearer token; a missing or wrong one is a 401 that touches nothing. */
import { Hono } from "hono";
import { onError } from "../src/shared";
import { describe, expect, it } from "vitest";
import { requireToken } from "../src/auth";
import { api, check, cost, json, uniqueKey } from "./helpers";

const policy = { name: "p", algorithm: "gcra", limit: 5, period: 60 };

describe("bearer token", () => {
  it("refuses a request without a token with 401, a problem and WWW-Authenticate: Bearer", async () => {
    const response = await api("/api/check", json("POST", { key: "k", policies: [policy] }, { authorization: "" }));
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="rate-limiter"');
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({ status: 401, type: "urn:durable-patterns:problem:unauthorized" });
  });

  it("refuses a wrong token (longer, shorter, one byte off), a wrong scheme and a token in the query string of an ordinary route", async () => {
    for (const [path, authorization] of [
      ["/api/keys/k", "Bearer wrong-token"],
      ["/api/keys/k", "Bearer test-token-but-longer"],
      ["/api/keys/k", "Bearer test-toke"], // a prefix: shorter
      ["/api/keys/k", "Bearer test-tokeN"], // the same length, one byte off
      ["/api/keys/k", "Bearer test-tokén"], // the same characters, one more byte
      ["/api/keys/k", "Basic dGVzdC10b2tlbg=="],
      ["/api/keys/k?token=test-token", ""],
    ] as const) {
      const response = await api(path, { headers: { authorization } });
      expect(response.status, `${path} ${authorization}`).toBe(401);
    }
    const wrong = await api("/api/keys/k", { headers: { authorization: "Bearer wrong-token" } });
    expect(wrong.headers.get("www-authenticate")).toBe('Bearer realm="rate-limiter", error="invalid_token"');
  });

  it("changes no state for an unauthenticated check", async () => {
    const key = uniqueKey();
    await check({ key, policies: [policy] });
    const measured = await cost(key, () =>
      api("/api/check", json("POST", { key, policies: [policy] }, { authorization: "Bearer nope" })),
    );
    expect(measured).toEqual({ statements: 0, rowsRead: 0, rowsWritten: 0 });
  });

  it("leaves the public demo route open (it is rate-limited instead)", async () => {
    const response = await api("/demo", { headers: { authorization: "", "cf-connecting-ip": "192.0.2.77" } });
    expect(response.status).toBe(200);
  });

  it("fails closed with 503 when RATE_LIMITER_TOKEN is not set, whatever the request sends", async () => {
    // The app's own middleware on a bare router, with an environment lacking the secret.
    const app = new Hono<{ Bindings: Env }>().use(requireToken()).get("/", (c) => c.text("open"));
    app.onError(onError);
    const response = await app.request("/", { headers: { authorization: "Bearer " } }, {
      RATE_LIMITER_TOKEN: "",
    } as Env);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ type: "urn:durable-patterns:problem:not-configured" });
  });
});
