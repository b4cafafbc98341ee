/**
 * RateLimiterService: other Workers call check/peek/refund/reset over a service binding, typed,
 * without HTTP or a token. Here it is called through the Worker's own exports, exactly as a
 * service binding with `entrypoint: "RateLimiterService"` would.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uniqueKey } from "./helpers";

const service = exports.RateLimiterService;

/** The message an RPC call rejects with (awaited at once, so no rejection goes unhandled). */
async function failure(call: Promise<unknown>): Promise<string | null> {
  try {
    await call;
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
const policy = { name: "rpc", algorithm: "gcra", limit: 2, period: 60 } as const;

describe("RateLimiterService over RPC", () => {
  it("checks, refuses with the headers ready to copy, peeks, refunds and resets", async () => {
    const key = uniqueKey();
    expect(await service.check({ key, policies: [policy] })).toMatchObject({ allowed: true });
    await service.check({ key, policies: [policy] });
    const refused = await service.check({ key, policies: [policy] });
    expect(refused.allowed).toBe(false);
    expect(refused.headers).toEqual({
      "RateLimit-Policy": '"rpc";q=2;w=60',
      RateLimit: '"rpc";r=0;t=60',
      "Retry-After": "30",
    });
    expect((await service.peek(key)).policies).toMatchObject([{ name: "rpc", remaining: 0 }]);
    expect((await service.refund(key, { policies: [policy] })).policies).toMatchObject([{ remaining: 1 }]);
    await service.reset(key);
    expect((await service.peek(key)).policies).toEqual([]);
  });

  it("throws a clear error for invalid input, and nothing is stored", async () => {
    const key = uniqueKey();
    expect(await failure(service.check({ key, policies: [{ ...policy, limit: 0 }] }))).toBe(
      "Invalid request: policies.0.limit: must be at least 1",
    );
    expect(await failure(service.check({ key, policies: ["nope"] }))).toMatch(/^No policy named "nope"/);
    expect(await failure(service.peek("bad key"))).toMatch(/must be 1 to 256 printable ASCII characters/);
    expect((await service.peek(key)).policies).toEqual([]);
  });
});
