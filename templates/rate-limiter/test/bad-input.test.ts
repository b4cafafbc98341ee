/**
 * Bad input of every kind is refused by the Worker with a 4xx problem+json before any object is
 * touched: the key's state never changes.
 */
import { describe, expect, it } from "vitest";
import { api, check, cost, json, uniqueKey } from "./helpers";

const good = { name: "p", algorithm: "gcra", limit: 5, period: 60 };

/** Sends `init` to `path` and expects `status`, a problem body, and no storage touched for `key`. */
async function refused(key: string, path: string, init: RequestInit, status: number) {
  let response!: Response;
  const measured = await cost(key, async () => {
    response = await api(path, init);
  });
  expect(response.status, `${init.method ?? "GET"} ${path} ${String(init.body)}`).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  expect(measured).toEqual({ statements: 0, rowsRead: 0, rowsWritten: 0 });
  return (await response.json()) as { type: string; detail: string };
}

describe("invalid policies", () => {
  const cases: [string, unknown][] = [
    ["a limit of 0", { ...good, limit: 0 }],
    ["a negative limit", { ...good, limit: -5 }],
    ["a fractional limit", { ...good, limit: 1.5 }],
    ["a limit over 1e9", { ...good, limit: 2_000_000_000 }],
    ["a period of 0", { ...good, period: 0 }],
    ["an absurd period (10 years)", { ...good, period: 315_360_000 }],
    ["an unknown algorithm", { ...good, algorithm: "leaky" }],
    ["a burst on a window algorithm", { ...good, algorithm: "fixed-window", burst: 10 }],
    ["a name with a quote", { ...good, name: 'a"b' }],
    ["an unknown field", { ...good, extra: 1 }],
  ];
  for (const [what, policy] of cases) {
    it(`refuses ${what} with 422`, async () => {
      const key = uniqueKey();
      await check({ key, policies: [good] });
      const problem = await refused(key, "/api/check", json("POST", { key, policies: [policy] }), 422);
      expect(problem.type).toBe("urn:durable-patterns:problem:invalid-body");
    });
  }

  it("refuses an unknown policy name with 422, listing the configured ones", async () => {
    const key = uniqueKey();
    await check({ key, policies: [good] });
    const problem = await refused(key, "/api/check", json("POST", { key, policies: ["nope"] }), 422);
    expect(problem).toMatchObject({ type: "urn:durable-patterns:problem:unknown-policy" });
    expect(problem.detail).toBe('No policy named "nope" is configured (configured: "api", "hourly", "daily", "demo").');
  });

  it("refuses the same policy name twice in one check", async () => {
    const key = uniqueKey();
    await check({ key, policies: [good] });
    await refused(key, "/api/check", json("POST", { key, policies: [good, good] }), 422);
  });

  it("refuses a cost larger than a policy can ever grant, naming it, and consumes nothing", async () => {
    const key = uniqueKey();
    await check({ key, policies: [good] });
    const problem = await refused(key, "/api/check", json("POST", { key, policies: [good], cost: 6 }), 422);
    expect(problem).toMatchObject({
      type: "urn:durable-patterns:problem:cost-exceeds-limit",
      detail: 'A cost of 6 can never be admitted by "p", which grants at most 5 at once.',
    });
  });
});

describe("malformed requests", () => {
  const key = uniqueKey();
  const cases: [string, string, RequestInit, number][] = [
    ["no body", "/api/check", { method: "POST" }, 400],
    [
      "malformed JSON",
      "/api/check",
      { method: "POST", headers: { "content-type": "application/json" }, body: "{" },
      400,
    ],
    ["text/plain", "/api/check", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }, 415],
    ["a 5 KB body", "/api/check", json("POST", { key, policies: [good], pad: "x".repeat(5000) }), 413],
    ["no policies", "/api/check", json("POST", { key, policies: [] }), 422],
    ["11 policies", "/api/check", json("POST", { key, policies: Array(11).fill("api") }), 422],
    ["a key with a space", "/api/check", json("POST", { key: "a b", policies: [good] }), 422],
    ["a key with ~", "/api/check", json("POST", { key: "a~1", policies: [good] }), 422],
    ["a 257-character key", "/api/check", json("POST", { key: "k".repeat(257), policies: [good] }), 422],
    ["a negative cost", "/api/check", json("POST", { key, policies: [good], cost: -1 }), 422],
    ["a string cost", "/api/check", json("POST", { key, policies: [good], cost: "1" }), 422],
    ["65 shards", "/api/check", json("POST", { key, policies: [good], shards: 65 }), 422],
    ["a refund of 0", `/api/keys/${key}/refund`, json("POST", { policies: [good], cost: 0 }), 422],
    ["a peek of an unknown policy", `/api/keys/${key}?policies=api,nope`, {}, 422],
    ["a peek with an empty list", `/api/keys/${key}?policies=`, {}, 400],
    ["a reset of 0 shards", `/api/keys/${key}?shards=0`, { method: "DELETE" }, 400],
    ["a WebSocket route without Upgrade", `/api/keys/${key}/websocket`, {}, 426],
    ["an unknown route", "/api/nope", {}, 404],
  ];
  for (const [what, path, init, status] of cases) {
    it(`answers ${what} with ${status}`, async () => {
      await check({ key, policies: [good] });
      await refused(key, path, init, status);
    });
  }
});
