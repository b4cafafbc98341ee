// Another Worker (test/caller/worker.ts) using the rate limiter as the README shows, in one
// `wrangler dev` with it: RPC through a typed service binding, and the middleware in front of its
// own routes. Run with `pnpm test:e2e`; run.mjs starts and stops the server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { baseUrl, uniqueName } from "../../src/shared/e2e.mjs";

const BASE = baseUrl(8788);
const get = (path, init) => fetch(`${BASE}${path}`, init);

/**
 * Sends requests one after another until one is refused (at most 200): how many were allowed, and
 * the refusal. The api policy (10/s, burst 20) refills while they run, so "at least 20".
 */
async function untilRefused(path, init) {
  for (let allowed = 0; allowed < 200; allowed++) {
    const response = await get(path, init);
    if (response.status === 429) return { allowed, refused: response };
    const body = await response.text();
    assert.equal(response.status, 200, `request ${allowed + 1}: ${body}`);
  }
  assert.fail("200 requests and none refused");
}

/** Sends `count` requests one after another and returns their statuses. */
async function statuses(count, path, init) {
  const seen = [];
  for (let i = 0; i < count; i++) {
    const response = await get(path, init);
    await response.arrayBuffer();
    seen.push(response.status);
  }
  return seen;
}

describe("a Worker calling RateLimiterService over its service binding", () => {
  it("is allowed at least 20 times (the api policy's burst), then refused with 429 and the RateLimit fields", async () => {
    const { allowed, refused } = await untilRefused(`/rpc/check?user=${uniqueName("rpc")}`);
    assert.ok(allowed >= 20, `${allowed} allowed`);
    assert.match(
      refused.headers.get("ratelimit") ?? "",
      new RegExp(`^"api";r=0;t=\\d+, "hourly";r=${1000 - allowed};t=\\d+$`),
    );
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  });

  it("gets a refusal back as a value with the problem the HTTP API would send (an unknown policy)", async () => {
    const response = await get("/rpc/unknown-policy");
    assert.equal(response.status, 422);
    const problem = await response.json();
    assert.equal(problem.type, "urn:durable-patterns:problem:unknown-policy");
    assert.match(problem.detail, /no-such-policy/);
  });

  it("blocks a key with an override of limit 0, reads it back, and lifts it again", async () => {
    const user = uniqueName("blocked");
    const blocked = await (await get(`/rpc/block?user=${user}`, { method: "POST" })).json();
    assert.deepEqual(blocked, { set: true, overrides: { api: { limit: 0, period: 3600 } } });
    assert.equal((await get(`/rpc/check?user=${user}`)).status, 429);
    const lifted = await (await get(`/rpc/unblock?user=${user}`, { method: "POST" })).json();
    assert.deepEqual(lifted, { deleted: true, shards: 1 });
    assert.equal((await get(`/rpc/check?user=${user}`)).status, 200);
  });

  it("checks with a deadline, onError and the denial cache, and says when a denial was remembered", async () => {
    const user = uniqueName("fast");
    await get(`/rpc/block?user=${user}`, { method: "POST" });
    const first = await (await get(`/rpc/fast?user=${user}`)).json();
    assert.deepEqual(first, { allowed: false, unavailable: null, cached: false });
    const second = await (await get(`/rpc/fast?user=${user}`)).json();
    assert.deepEqual(second, { allowed: false, unavailable: null, cached: true });
  });
});

describe("the middleware in front of another Worker's routes", () => {
  it("lets a user's burst of 20 through with RateLimit and X-RateLimit fields, then answers 429 problem+json", async () => {
    const headers = { "x-user": uniqueName("mw") };
    const first = await get("/api/hello", { headers });
    assert.equal(first.status, 200);
    assert.match(first.headers.get("ratelimit") ?? "", /^"api";r=19;t=\d+$/);
    assert.equal(first.headers.get("x-ratelimit-limit"), "10");
    assert.equal(first.headers.get("x-ratelimit-remaining"), "19");
    const { allowed, refused } = await untilRefused("/api/hello", { headers });
    assert.ok(allowed >= 19, `${allowed} more allowed`);
    assert.equal(refused.headers.get("content-type"), "application/problem+json");
    assert.equal((await refused.json()).type, "urn:durable-patterns:problem:rate-limited");
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  });

  it("skips a request carrying the job secret: not checked, not counted, no RateLimit fields", async () => {
    const user = uniqueName("job");
    const job = { "x-user": user, "x-internal-job": "job-secret-for-tests" };
    assert.deepEqual(await statuses(30, "/api/hello", { headers: job }), Array(30).fill(200));
    const skipped = await get("/api/hello", { headers: job });
    assert.equal(skipped.headers.get("ratelimit"), null);
    const counted = await get("/api/hello", { headers: { "x-user": user } });
    assert.match(counted.headers.get("ratelimit") ?? "", /^"api";r=19;t=\d+$/);
  });

  it("gives the units of failed responses back (refundOn), so 30 failures leave the user's quota whole", async () => {
    const headers = { "x-user": uniqueName("refund") };
    assert.deepEqual(await statuses(30, "/api/fails", { headers }), Array(30).fill(502));
    const after = await get("/api/hello", { headers });
    assert.equal(after.status, 200);
    assert.match(after.headers.get("ratelimit") ?? "", /^"api";r=19;t=\d+$/);
  });
});
