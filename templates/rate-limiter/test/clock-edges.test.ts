/**
 * Requests exactly at the edges, through the HTTP API with the object's clock fixed: a window
 * boundary, a GCRA unit falling due, the sliding window's weight reaching the limit. (Costs above
 * any limit and invalid policies are in bad-input.test.ts: they never reach an object.)
 */
import { describe, expect, it } from "vitest";
import { check, freezeClock, uniqueKey } from "./helpers";

// A minute boundary: 60-second windows start here.
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

/**
 * A fresh key checked against `policy` alone, its object's clock frozen at `start`: `allowed`
 * checks `cost` units now, and `expectEdge` moves the clock to assert a check refused 1 ms before
 * `edge` and one of `cost` units admitted exactly on it.
 */
async function freshKey(policy: object, start: number) {
  const key = uniqueKey();
  const at = await freezeClock(key, start);
  const allowed = async (cost = 1) => {
    const body = (await (await check({ key, policies: [policy], cost })).json()) as { allowed: boolean };
    return body.allowed;
  };
  const expectEdge = async (edge: number, cost = 1) => {
    await at(edge - 1);
    expect(await allowed(), "1 ms before the edge").toBe(false);
    await at(edge);
    expect(await allowed(cost), "exactly on the edge").toBe(true);
  };
  return { allowed, expectEdge };
}

describe("clock edges", () => {
  it("fixed window: refuses 1 ms before the boundary and admits exactly on it", async () => {
    const policy = { name: "f", algorithm: "fixed-window", limit: 2, period: 60 };
    const { allowed, expectEdge } = await freshKey(policy, T0 + 30_000);
    expect(await allowed(2)).toBe(true);
    await expectEdge(T0 + 60_000, 2);
  });

  it("GCRA: refuses 1 ms before the next unit is due and admits exactly when it is", async () => {
    const policy = { name: "g", algorithm: "gcra", limit: 4, period: 60 }; // one unit per 15 s
    const { allowed, expectEdge } = await freshKey(policy, T0);
    expect(await allowed(4)).toBe(true);
    await expectEdge(T0 + 15_000);
    expect(await allowed()).toBe(false);
  });

  it("sliding window: admits exactly when the previous window's weight leaves room", async () => {
    const policy = { name: "s", algorithm: "sliding-window", limit: 4, period: 60 };
    const { allowed, expectEdge } = await freshKey(policy, T0 + 1_000);
    expect(await allowed(4)).toBe(true);
    // In the next window the 4 weigh 4 * (60 - e) / 60; one unit fits once that is <= 3: e >= 15 s.
    await expectEdge(T0 + 75_000);
  });
});
