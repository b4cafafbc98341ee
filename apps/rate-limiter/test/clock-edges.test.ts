/**
 * Requests exactly at the edges, through the HTTP API with the object's clock fixed: a window
 * boundary, a GCRA unit falling due, the sliding window's weight reaching the limit. (Costs above
 * any limit and invalid policies are in bad-input.test.ts: they never reach an object.)
 */
import { describe, expect, it } from "vitest";
import { check, freezeClock, uniqueKey } from "./helpers";

// A minute boundary: 60-second windows start here.
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

async function allowed(key: string, policy: object, cost = 1): Promise<boolean> {
  const body = (await (await check({ key, policies: [policy], cost })).json()) as { allowed: boolean };
  return body.allowed;
}

describe("clock edges", () => {
  it("fixed window: refuses 1 ms before the boundary and admits exactly on it", async () => {
    const key = uniqueKey();
    const policy = { name: "f", algorithm: "fixed-window", limit: 2, period: 60 };
    const at = await freezeClock(key, T0 + 30_000);
    expect(await allowed(key, policy, 2)).toBe(true);
    await at(T0 + 59_999);
    expect(await allowed(key, policy)).toBe(false);
    await at(T0 + 60_000);
    expect(await allowed(key, policy, 2)).toBe(true);
  });

  it("GCRA: refuses 1 ms before the next unit is due and admits exactly when it is", async () => {
    const key = uniqueKey();
    const policy = { name: "g", algorithm: "gcra", limit: 4, period: 60 }; // one unit per 15 s
    const at = await freezeClock(key, T0);
    expect(await allowed(key, policy, 4)).toBe(true);
    await at(T0 + 14_999);
    expect(await allowed(key, policy)).toBe(false);
    await at(T0 + 15_000);
    expect(await allowed(key, policy)).toBe(true);
    expect(await allowed(key, policy)).toBe(false);
  });

  it("sliding window: admits exactly when the previous window's weight leaves room", async () => {
    const key = uniqueKey();
    const policy = { name: "s", algorithm: "sliding-window", limit: 4, period: 60 };
    const at = await freezeClock(key, T0 + 1_000);
    expect(await allowed(key, policy, 4)).toBe(true);
    // In the next window the 4 weigh 4 * (60 - e) / 60; one unit fits once that is <= 3: e >= 15 s.
    await at(T0 + 74_999);
    expect(await allowed(key, policy)).toBe(false);
    await at(T0 + 75_000);
    expect(await allowed(key, policy)).toBe(true);
  });
});
