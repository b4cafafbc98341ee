/**
 * Strict limits: a check is one synchronous transaction in the key's single-threaded object, so
 * concurrent checks cannot interleave and the limit is never exceeded, even when the object is
 * evicted in the middle of a burst.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { check, freezeClock, stub, uniqueKey } from "./helpers";

async function burst(key: string, policy: object, count: number): Promise<number[]> {
  const responses = await Promise.all(Array.from({ length: count }, () => check({ key, policies: [policy] })));
  return responses.map((response) => response.status);
}

const MID_HOUR = Date.UTC(2026, 10, 27, 12, 30);

describe("concurrent checks", () => {
  for (const algorithm of ["gcra", "sliding-window", "fixed-window"]) {
    it(`admits exactly 100 of 1,000 concurrent checks against a limit of 100 (${algorithm})`, async () => {
      const policy = { name: "strict", algorithm, limit: 100, period: 3600 };
      const key = uniqueKey();
      // Mid-window: a burst that crossed the hour would rightly admit 100 more in the next window.
      await freezeClock(key, MID_HOUR);
      const statuses = await burst(key, policy, 1000);
      expect(statuses.filter((s) => s === 200)).toHaveLength(100);
      expect(statuses.filter((s) => s === 429)).toHaveLength(900);
    });
  }

  it("never over-admits when the object is evicted in the middle of a burst", async () => {
    const key = uniqueKey();
    const policy = { name: "strict", algorithm: "gcra", limit: 100, period: 3600 };
    await check({ key, policies: [policy], cost: 0 }); // starts the object, so it can be evicted
    const first = burst(key, policy, 500);
    // Evict while the first half is in flight: checks cut off may fail, but none is half-applied.
    await evictDurableObject(stub(key));
    const second = burst(key, policy, 500);
    const statuses = [...(await first), ...(await second)];
    const admitted = statuses.filter((s) => s === 200).length;
    expect(admitted).toBeLessThanOrEqual(100);
    // Top up until refused: every admitted check was stored exactly once, so the total is exactly 100.
    const more = await burst(key, policy, 200);
    expect(admitted + more.filter((s) => s === 200).length).toBe(100);
  });
});
