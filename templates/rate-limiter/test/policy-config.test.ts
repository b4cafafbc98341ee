/** The POLICIES and SHARDS vars: validated with every problem named, so a bad deploy fails loudly. */
import { describe, expect, it } from "vitest";
import { PolicyConfigError, namedPolicies } from "../src/policy";
import { ShardConfigError, shardCount } from "../src/sharding";

describe("POLICIES configuration", () => {
  it("resolves named policies, GCRA burst defaulting to the limit", () => {
    const policies = namedPolicies({
      api: { algorithm: "gcra", limit: 10, period: 1 },
      daily: { algorithm: "fixed-window", limit: 5, period: 86400 },
    });
    expect(policies.get("api")).toEqual({ name: "api", algorithm: "gcra", limit: 10, period: 1, burst: 10 });
    expect(policies.get("daily")).toEqual({ name: "daily", algorithm: "fixed-window", limit: 5, period: 86400 });
  });

  it("accepts the var as a JSON string too", () => {
    expect([...namedPolicies('{"a":{"algorithm":"gcra","limit":1,"period":1}}').keys()]).toEqual(["a"]);
  });

  it("refuses a bad configuration with a message naming each problem", () => {
    expect(() =>
      namedPolicies({
        ok: { algorithm: "gcra", limit: 10, period: 1 },
        zero: { algorithm: "gcra", limit: 0, period: 1 },
        forever: { algorithm: "fixed-window", limit: 1, period: 100_000_000 },
      }),
    ).toThrow(
      new PolicyConfigError(
        "POLICIES is invalid: zero.limit: must be at least 1; forever.period: must be at most 31622400 seconds",
      ),
    );
    expect(() => namedPolicies("{not json")).toThrow("POLICIES is not valid JSON.");
  });

  it("refuses a GCRA policy whose full bucket would take more than a year to refill, with the reason", () => {
    expect(() =>
      namedPolicies({
        yearly: { algorithm: "gcra", limit: 1, period: 86_400, burst: 366 },
        glacial: { algorithm: "gcra", limit: 10, period: 31_622_400, burst: 1_000 },
      }),
    ).toThrow(
      new PolicyConfigError(
        "POLICIES is invalid: glacial.burst: a full bucket would take 3162240000 s to refill " +
          "(burst × period / limit), more than one year (31622400 s); lower the burst or raise the limit",
      ),
    );
  });
});

describe("SHARDS configuration", () => {
  const config = { "api:all": 16, "tenant:*": 2, "tenant:big:*": 8, "tenant:big:calm": 1 };

  it("gives a key its exact entry, else its longest matching prefix, else 1", () => {
    expect(shardCount(config, "api:all")).toBe(16);
    expect(shardCount(config, "tenant:small")).toBe(2);
    expect(shardCount(config, "tenant:big:eu")).toBe(8);
    expect(shardCount(config, "tenant:big:calm")).toBe(1);
    expect(shardCount(config, "user:42")).toBe(1);
    expect(shardCount(undefined, "api:all")).toBe(1);
    expect(shardCount('{"*":4}', "anything")).toBe(4);
  });

  it("refuses a bad configuration with a message naming each problem", () => {
    expect(() => shardCount({ ok: 4, zero: 0, many: 65, half: 1.5, "a b": 2 }, "k")).toThrow(ShardConfigError);
    expect(() => shardCount({ zero: 0, many: 65 }, "k")).toThrow(
      "SHARDS is invalid: zero: Too small: expected number to be >=1; many: Too big: expected number to be <=64",
    );
    expect(() => shardCount("{not json", "k")).toThrow("SHARDS is not valid JSON.");
  });
});
