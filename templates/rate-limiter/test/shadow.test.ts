/**
 * Shadow mode (`"mode": "shadow"` on a policy): the policy is counted and reported (in the
 * answer, the `RateLimit-Shadow` header, the operation's log line and its metric points) but
 * never refuses, so a new limit can be tried on live traffic before it is enforced.
 */
import { logLinesOf, metricPointsOf } from "../src/shared/testing";
import { describe, expect, it } from "vitest";
import { namedPolicies } from "../src/policy";
import { api, check, freezeClock, json, stub, uniqueKey } from "./helpers";

const enforced = { name: "e", algorithm: "fixed-window", limit: 10, period: 60 } as const;
const shadow = { name: "s", algorithm: "fixed-window", limit: 1, period: 60, mode: "shadow" } as const;

/**
 * A fresh key whose object's clock stands still half-way through a minute: the checks of a test
 * all fall in one fixed window, whenever the test runs (on the wall clock, a minute's edge between
 * two checks would start a new window and change the counts).
 */
async function keyMidMinute(prefix?: string): Promise<string> {
  const key = uniqueKey(prefix);
  await freezeClock(key, Date.UTC(2026, 10, 27, 12, 0, 30));
  return key;
}

describe("a policy in shadow mode", () => {
  it("never refuses: its would-be refusals are reported in the answer and in RateLimit-Shadow with `denied`", async () => {
    const key = await keyMidMinute();
    const first = await check({ key, policies: [enforced, shadow] });
    expect(first.status).toBe(200);
    expect(first.headers.get("RateLimit-Shadow")).toMatch(/^"s";q=1;w=60;r=0;t=\d+$/);
    const second = await check({ key, policies: [enforced, shadow] });
    expect(second.status).toBe(200);
    const body = await second.json();
    expect(body).toMatchObject({
      allowed: true,
      policies: [
        { name: "e", remaining: 8, retryAfter: 0 },
        { name: "s", mode: "shadow", remaining: 0, retryAfter: expect.any(Number) },
      ],
    });
    // The enforced policy alone is in the IETF fields: a client slows down for it only.
    expect(second.headers.get("RateLimit-Policy")).toBe('"e";q=10;w=60');
    expect(second.headers.get("RateLimit")).toMatch(/^"e";r=8;t=\d+$/);
    expect(second.headers.get("RateLimit-Shadow")).toMatch(/^"s";q=1;w=60;r=0;t=\d+;denied$/);
    expect(second.headers.get("Retry-After")).toBeNull();
  });

  it("does not count against the policies that enforce, and a refusal by those is still a refusal", async () => {
    const key = await keyMidMinute();
    const tight = { ...enforced, limit: 2 };
    for (let i = 0; i < 2; i++) expect((await check({ key, policies: [tight, shadow] })).status).toBe(200);
    const refused = await check({ key, policies: [tight, shadow] });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).not.toBeNull();
  });

  it("gets no RateLimit fields when it is the only policy, and is not refused a cost above its capacity (422 for an enforced one)", async () => {
    const key = await keyMidMinute();
    const response = await check({ key, policies: [shadow], cost: 5 });
    expect(response.status).toBe(200);
    expect(response.headers.get("RateLimit")).toBeNull();
    expect(response.headers.get("RateLimit-Shadow")).toMatch(/;denied$/);
    expect((await check({ key, policies: [{ ...shadow, mode: "enforce" }], cost: 5 })).status).toBe(422);
  });

  it("logs a check it would have refused as outcome shadow_denied, and writes a shadow-denied metric point", async () => {
    const key = await keyMidMinute("user:");
    await check({ key, policies: [enforced, shadow] });
    let points: unknown[] = [];
    const lines = await logLinesOf(async () => {
      points = await metricPointsOf(stub(key), () => check({ key, policies: [enforced, shadow] }));
    });
    expect(lines.find((l) => l.line.message === "operation")?.line).toMatchObject({
      op: "check",
      outcome: "shadow_denied",
    });
    expect(points).toEqual([
      { indexes: ["rate-limiter:check"], blobs: ["e", "allowed", "user:"], doubles: [1, 8] },
      { indexes: ["rate-limiter:check"], blobs: ["s", "shadow-denied", "user:"], doubles: [1, 0] },
    ]);
  });

  it('is configured in POLICIES with "mode": "shadow", and an inline one without a name is named apart', async () => {
    const policies = namedPolicies({ "api-next": { algorithm: "gcra", limit: 5, period: 1, mode: "shadow" } });
    expect(policies.get("api-next")).toEqual({
      name: "api-next",
      algorithm: "gcra",
      limit: 5,
      period: 1,
      burst: 5,
      mode: "shadow",
    });
    const key = await keyMidMinute();
    const unnamed = { algorithm: "fixed-window", limit: 1, period: 60, mode: "shadow" };
    const response = await api("/api/check", json("POST", { key, policies: [unnamed] }));
    expect(await response.json()).toMatchObject({
      policies: [{ name: "fixed-window-1-per-60s-shadow", mode: "shadow" }],
    });
  });
});
