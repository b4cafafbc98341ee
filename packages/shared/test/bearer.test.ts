/**
 * Bearer-token auth (src/bearer.ts) on a bare Hono router: the secret compared in constant time,
 * 401 with `WWW-Authenticate` for a missing or wrong token, 503 when the secret is unset.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { onError, problemType } from "../src/http";
import { requireBearer, sameSecret } from "../src/bearer";

interface Bindings {
  TOKEN?: string;
}

function router(allowQuery = false) {
  const app = new Hono<{ Bindings: Bindings }>()
    .use(requireBearer<Bindings>({ secret: "TOKEN", realm: "demo", allowQuery }))
    .get("/", (c) => c.text("open"));
  app.onError(onError);
  return app;
}

const call = (authorization: string | undefined, { path = "/", token = "s3cret", allowQuery = false } = {}) =>
  router(allowQuery).request(path, authorization === undefined ? {} : { headers: { authorization } }, {
    TOKEN: token,
  });

describe("requireBearer", () => {
  it("lets the request through with Authorization: Bearer <secret>, in any case of the scheme", async () => {
    for (const authorization of ["Bearer s3cret", "bearer s3cret", "BEARER  s3cret"]) {
      const response = await call(authorization);
      expect(response.status, authorization).toBe(200);
      expect(await response.text()).toBe("open");
    }
  });

  it("answers 401 with a bare Bearer challenge when no token is sent", async () => {
    const response = await call(undefined);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="demo"');
    expect(await response.json()).toMatchObject({ type: problemType("unauthorized"), status: 401 });
  });

  it("answers 401 invalid_token for a longer, shorter, one-byte-off or multibyte token and another scheme", async () => {
    for (const authorization of [
      "Bearer s3cret!",
      "Bearer s3cre",
      "Bearer s3creT",
      "Bearer s3crét",
      "Basic czNjcmV0",
    ]) {
      const response = await call(authorization);
      expect(response.status, authorization).toBe(401);
      if (authorization.startsWith("Bearer")) {
        expect(response.headers.get("www-authenticate")).toBe('Bearer realm="demo", error="invalid_token"');
      }
    }
  });

  it("takes ?token= only when allowQuery is set (WebSocket routes)", async () => {
    expect((await call(undefined, { path: "/?token=s3cret" })).status).toBe(401);
    expect((await call(undefined, { path: "/?token=s3cret", allowQuery: true })).status).toBe(200);
    expect((await call(undefined, { path: "/?token=nope", allowQuery: true })).status).toBe(401);
  });

  it("fails closed with 503 not-configured when the secret is unset or empty, whatever is sent", async () => {
    for (const token of ["", undefined]) {
      const response = await router().request("/", { headers: { authorization: "Bearer " } }, { TOKEN: token });
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({
        type: problemType("not-configured"),
        detail: "This deployment has no TOKEN configured.",
      });
    }
  });
});

describe("sameSecret", () => {
  it("is true only for the same bytes, and follows a secret that changes", () => {
    expect(sameSecret("abc", "abc")).toBe(true);
    expect(sameSecret("abd", "abc")).toBe(false);
    expect(sameSecret("ab", "abc")).toBe(false);
    expect(sameSecret("abcd", "abc")).toBe(false);
    expect(sameSecret("", "abc")).toBe(false);
    expect(sameSecret("xyz", "xyz")).toBe(true);
    expect(sameSecret("abc", "xyz")).toBe(false);
  });
});
