/**
 * GCRA is exact for every policy the configuration accepts: the emission interval `period /
 * limit` is kept as an exact fraction (time in units of 1/limit µs), so a policy faster than a
 * million per second refills exactly as fast as configured, and a slow one exactly as slowly.
 * What could not be kept exact (a full bucket that takes longer than a year to refill, whose
 * times would outgrow the stored integers and the alarm) is refused where the policy is defined.
 */
import { describe, expect, it } from "vitest";
import { api, check, freezeClock, uniqueKey } from "./helpers";

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

interface Answer {
  allowed: boolean;
  policies: { remaining: number; reset: number; retryAfter: number }[];
}

async function answer(body: object): Promise<Answer> {
  return (await (await check(body)).json()) as Answer;
}

describe("GCRA precision", () => {
  it("admits exactly 3 per second from a policy of 3 per second", async () => {
    const key = uniqueKey();
    const policy = { name: "three", algorithm: "gcra", limit: 3, period: 1 }; // one unit every 333,333.3 µs
    const at = await freezeClock(key, T0);
    for (let second = 0; second < 5; second++) {
      await at(T0 + second * 1000);
      expect(await answer({ key, policies: [policy], cost: 3 })).toMatchObject({ allowed: true });
    }
    await at(T0 + 4_999);
    expect(await answer({ key, policies: [policy], cost: 0 })).toMatchObject({ policies: [{ remaining: 2 }] });
  });

  it("refills exactly 3,000 units a millisecond from a policy of 3,000,000 per second", async () => {
    const key = uniqueKey();
    const policy = { name: "fast", algorithm: "gcra", limit: 3_000_000, period: 1 };
    const at = await freezeClock(key, T0);
    expect(await answer({ key, policies: [policy], cost: 3_000_000 })).toMatchObject({
      allowed: true,
      policies: [{ remaining: 0 }],
    });
    await at(T0 + 1);
    expect(await answer({ key, policies: [policy], cost: 0 })).toMatchObject({ policies: [{ remaining: 3_000 }] });
    expect(await answer({ key, policies: [policy], cost: 3_001 })).toMatchObject({ allowed: false });
    expect(await answer({ key, policies: [policy], cost: 3_000 })).toMatchObject({ allowed: true });
  });

  it("admits exactly 1,000,000,000 a second, the fastest policy accepted", async () => {
    const key = uniqueKey();
    const policy = { name: "fastest", algorithm: "gcra", limit: 1_000_000_000, period: 1 };
    const at = await freezeClock(key, T0);
    expect(await answer({ key, policies: [policy], cost: 1_000_000_000 })).toMatchObject({ allowed: true });
    await at(T0 + 7);
    expect(await answer({ key, policies: [policy], cost: 0 })).toMatchObject({ policies: [{ remaining: 7_000_000 }] });
  });

  it("refuses a GCRA policy whose full bucket would take more than a year to refill, with the reason", async () => {
    const key = uniqueKey();
    // One unit a year with a burst of a billion: a billion years to refill.
    const policy = { name: "glacial", algorithm: "gcra", limit: 1, period: 31_622_400, burst: 1_000_000_000 };
    const response = await check({ key, policies: [policy], cost: 1_000_000_000 });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({
      type: "urn:durable-patterns:problem:invalid-body",
      detail:
        "Invalid body: policies.0.burst: a full bucket would take 31622400000000000 s to refill " +
        "(burst × period / limit), more than one year (31622400 s); lower the burst or raise the limit",
    });
    // A burst that refills within the year is accepted: 366 units of one a day.
    const yearly = { name: "daily-saved", algorithm: "gcra", limit: 1, period: 86_400, burst: 366 };
    expect((await check({ key, policies: [yearly], cost: 366 })).status).toBe(200);
    expect(await (await api(`/api/keys/${key}`)).json()).toMatchObject({
      policies: [{ name: "daily-saved", remaining: 0, reset: 31_622_400, retryAfter: 86_400 }],
    });
  });
});
