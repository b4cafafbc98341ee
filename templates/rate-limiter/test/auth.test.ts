/** Every /api route needs the bearer token; a missing or wrong one is a 401 that touches nothing. */
import { expectFailsClosed, expectUnauthorized, expectWrongTokensRefused } from "../src/shared/testing";
import { describe, expect, it } from "vitest";
import { requireToken } from "../src/auth";
import { TOKEN, api, check, cost, json, uniqueKey } from "./helpers";

const policy = { name: "p", algorithm: "gcra", limit: 5, period: 60 };

describe("bearer token", () => {
  it("refuses a request without a token with 401, a problem and WWW-Authenticate: Bearer", async () => {
    const response = await api("/api/check", json("POST", { key: "k", policies: [policy] }, { authorization: "" }));
    await expectUnauthorized(response, "rate-limiter");
  });

  it("refuses a wrong token (longer, shorter, one byte off, one byte more), a wrong scheme and a token in the query string of an ordinary route", () =>
    expectWrongTokensRefused(api, "/api/keys/k", TOKEN, "rate-limiter"));

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
    await expectFailsClosed(requireToken(), { RATE_LIMITER_TOKEN: "" } as Env);
  });
});
