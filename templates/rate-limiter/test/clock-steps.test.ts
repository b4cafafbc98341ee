/**
 * Clocks step backwards: NTP corrections, or a request served by an isolate whose clock is a
 * little behind. A key's window never moves backwards: a check at an earlier time than the
 * window the key has already counted in is counted in that window, not in an earlier, empty one.
 * GCRA needs nothing: its stored time only moves forward (a step back finds the bucket fuller).
 * The object's clock is set through `runInDurableObject` (helpers.freezeClock).
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { check, freezeClock, stub, uniqueKey } from "./helpers";

// A minute boundary: 60-second windows start here.
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

interface Answer {
  allowed: boolean;
  policies: { remaining: number; reset: number; retryAfter: number }[];
}

/** Sends `count` checks of one unit each and returns how many were admitted. */
async function admitted(key: string, policy: object, count: number): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < count; i++) {
    if (((await (await check({ key, policies: [policy] })).json()) as Answer).allowed) allowed++;
  }
  return allowed;
}

describe("clock steps backwards", () => {
  it("never moves a fixed window back when the clock steps back across its boundary", async () => {
    const key = uniqueKey();
    const policy = { name: "f", algorithm: "fixed-window", limit: 10, period: 60 };
    const at = await freezeClock(key, T0 + 59_999);
    expect(await admitted(key, policy, 15)).toBe(10);
    await at(T0 + 60_000); // a new window: a fixed window allows its limit again
    expect(await admitted(key, policy, 15)).toBe(10);
    await at(T0 + 59_999); // 1 ms back, into the window before: still the new window's count
    expect(await admitted(key, policy, 15)).toBe(0);
    const refused = (await (await check({ key, policies: [policy] })).json()) as Answer;
    // The counted window ends at T0 + 120 s, 60.001 s from the stepped-back clock.
    expect(refused.policies).toMatchObject([{ remaining: 0, reset: 61, retryAfter: 61 }]);
  });

  it("never moves a sliding window back when the clock steps back across its boundary", async () => {
    const key = uniqueKey();
    const policy = { name: "s", algorithm: "sliding-window", limit: 10, period: 60 };
    const at = await freezeClock(key, T0 + 90_000);
    expect(await admitted(key, policy, 15)).toBe(10);
    await at(T0 + 59_999); // back into the window before the counted one
    expect(await admitted(key, policy, 15)).toBe(0);
    await at(T0 + 90_000); // and forward again: nothing was counted twice or forgotten
    expect(await admitted(key, policy, 15)).toBe(0);
    await at(T0 + 150_000); // half of the next window: the 10 weigh 5
    expect(await admitted(key, policy, 15)).toBe(5);
  });

  it("keeps GCRA as it is: a step back finds the bucket fuller, never emptier", async () => {
    const key = uniqueKey();
    const policy = { name: "g", algorithm: "gcra", limit: 10, period: 60 }; // one unit per 6 s
    const at = await freezeClock(key, T0 + 60_000);
    expect(await admitted(key, policy, 15)).toBe(10);
    await at(T0 + 30_000);
    expect(await admitted(key, policy, 5)).toBe(0);
    await at(T0 + 66_000);
    expect(await admitted(key, policy, 5)).toBe(1);
  });

  it("keeps a key's state a minute past its expiry, so a step back after the purge time still finds it", async () => {
    const key = uniqueKey();
    const policy = { name: "f", algorithm: "fixed-window", limit: 10, period: 60 };
    const at = await freezeClock(key, T0 + 59_000);
    expect(await admitted(key, policy, 10)).toBe(10); // the window ends, and the state expires, at T0 + 60 s
    await at(T0 + 60_500);
    await runDurableObjectAlarm(stub(key)); // the purge alarm, run early
    await at(T0 + 59_999); // the clock steps 501 ms back, into the counted window
    expect(await admitted(key, policy, 5)).toBe(0);
  });
});
