/** The POLICIES var: validated with every problem named, so a bad deploy fails loudly. */
import { describe, expect, it } from "vitest";
import { PolicyConfigError, namedPolicies } from "../src/policy";

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
});
