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
    expect(await service.reset(key)).toEqual({ ok: true, shards: 1 });
    expect((await service.peek(key)).policies).toEqual([]);
  });

  it("refuses reset with 0, 1.5, 65 or 10,000,000 shards, or a count the key is not configured with, as typed values, resetting nothing", async () => {
    const key = uniqueKey();
    await service.check({ key, policies: [policy] });
    // 0 used to reset nothing silently, 1.5 one shard, 10,000,000 made ten million calls.
    for (const shards of [0, 1.5, 65, 10_000_000, Number.NaN]) {
      expect(await service.reset(key, shards)).toEqual({
        ok: false,
        problem: {
          type: "urn:durable-patterns:problem:invalid-body",
          title: "Unprocessable Content",
          status: 422,
          detail: expect.stringMatching(/^Invalid request: shards: /),
          errors: [{ path: "shards", message: expect.any(String) }],
        },
      });
    }
    expect(await service.reset(key, 2)).toEqual({
      ok: false,
      problem: {
        type: "urn:durable-patterns:problem:shard-count-mismatch",
        title: "Unprocessable Content",
        status: 422,
        detail: `Key "${key}" is not sharded: the server's SHARDS setting decides a key's shards; send no "shards" (or 1).`,
        shards: 1,
      },
    });
    expect(await service.reset("bad key")).toMatchObject({ ok: false, problem: { status: 422 } });
    expect((await service.peek(key)).policies).toMatchObject([{ name: "rpc", remaining: 1 }]);
    // The configured count, or none, resets every shard.
    const hot = uniqueKey("hot:");
    await service.check({ key: hot, policies: [{ ...policy, limit: 8 }] });
    expect(await service.reset(hot, 4)).toEqual({ ok: true, shards: 4 });
    expect(await service.reset(hot)).toEqual({ ok: true, shards: 4 });
    expect((await service.peek(hot)).policies).toEqual([]);
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
