/**
 * RateLimiterService: other Workers call check/peek/refund/reset over a service binding, typed,
 * without HTTP or a token. Here it is called through the Worker's own exports, exactly as a
 * service binding with `entrypoint: "RateLimiterService"` would.
 *
 * No method throws for a request it refuses: each answers `{ ok: true, ... }` or a refusal,
 * `{ ok: false, reason, detail, ..., problem }`.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RefusalReason } from "../src/limiter";
import { uniqueKey } from "./helpers";

const service = exports.RateLimiterService;

/** The answer of a call that must have been accepted, narrowed to its result. */
function accepted<T extends { ok: boolean }>(answer: T): Extract<T, { ok: true }> {
  expect(answer).toMatchObject({ ok: true });
  return answer as Extract<T, { ok: true }>;
}
/** The invalid_request refusal, with the 422 problem the HTTP API would send for it. */
function invalidRequest(detail: unknown, errors: unknown) {
  return {
    ok: false,
    reason: "invalid_request",
    detail,
    errors,
    problem: {
      type: "urn:durable-patterns:problem:invalid-body",
      title: "Unprocessable Content",
      status: 422,
      detail,
      errors,
    },
  };
}

const policy = { name: "rpc", algorithm: "gcra", limit: 2, period: 60 } as const;

describe("RateLimiterService over RPC", () => {
  it("checks, refuses with the headers ready to copy, peeks, refunds and resets", async () => {
    const key = uniqueKey();
    expect(await service.check({ key, policies: [policy] })).toMatchObject({ ok: true, allowed: true });
    await service.check({ key, policies: [policy] });
    const refused = accepted(await service.check({ key, policies: [policy] }));
    expect(refused.allowed).toBe(false);
    expect(refused.headers).toEqual({
      "RateLimit-Policy": '"rpc";q=2;w=60',
      RateLimit: '"rpc";r=0;t=60',
      "Retry-After": "30",
    });
    expect(accepted(await service.peek(key)).policies).toMatchObject([{ name: "rpc", remaining: 0 }]);
    expect(accepted(await service.refund(key, { policies: [policy] })).policies).toMatchObject([{ remaining: 1 }]);
    expect(await service.reset(key)).toEqual({ ok: true, shards: 1 });
    expect(accepted(await service.peek(key)).policies).toEqual([]);
  });

  it("refuses reset with 0, 1.5, 65 or 10,000,000 shards, or a count the key is not configured with, as typed values, resetting nothing", async () => {
    const key = uniqueKey();
    await service.check({ key, policies: [policy] });
    // 0 used to reset nothing silently, 1.5 one shard, 10,000,000 made ten million calls.
    for (const shards of [0, 1.5, 65, 10_000_000, Number.NaN]) {
      const detail = expect.stringMatching(/^Invalid request: shards: /);
      const errors = [{ path: "shards", message: expect.any(String) }];
      expect(await service.reset(key, shards)).toEqual(invalidRequest(detail, errors));
    }
    const detail = `Key "${key}" is not sharded: the server's SHARDS setting decides a key's shards; send no "shards" (or 1).`;
    expect(await service.reset(key, 2)).toEqual({
      ok: false,
      reason: "shard_count_mismatch",
      detail,
      shards: 1,
      problem: {
        type: "urn:durable-patterns:problem:shard-count-mismatch",
        title: "Unprocessable Content",
        status: 422,
        detail,
        shards: 1,
      },
    });
    expect(await service.reset("bad key")).toMatchObject({
      ok: false,
      reason: "invalid_request",
      problem: { status: 422 },
    });
    expect(accepted(await service.peek(key)).policies).toMatchObject([{ name: "rpc", remaining: 1 }]);
    // The configured count, or none, resets every shard.
    const hot = uniqueKey("hot:");
    await service.check({ key: hot, policies: [{ ...policy, limit: 8 }] });
    expect(await service.reset(hot, 4)).toEqual({ ok: true, shards: 4 });
    expect(await service.reset(hot)).toEqual({ ok: true, shards: 4 });
    expect(accepted(await service.peek(hot)).policies).toEqual([]);
  });

  it("returns an invalid_request refusal listing each bad field, with the HTTP API's problem, and stores nothing", async () => {
    const key = uniqueKey();
    const detail = "Invalid request: policies.0.limit: must be at least 1";
    const errors = [{ path: "policies.0.limit", message: "must be at least 1" }];
    expect(await service.check({ key, policies: [{ ...policy, limit: 0 }] })).toEqual(invalidRequest(detail, errors));
    expect(await service.peek("bad key")).toMatchObject({
      ok: false,
      reason: "invalid_request",
      detail: expect.stringMatching(/must be 1 to 256 printable ASCII characters/),
    });
    expect(accepted(await service.peek(key)).policies).toEqual([]);
  });

  it("returns an unknown_policy refusal for a policy nobody configured, and changes nothing", async () => {
    const key = uniqueKey();
    await service.check({ key, policies: [policy] });
    const refusal = await service.check({ key, policies: [policy, "nope"] });
    expect(refusal).toMatchObject({
      ok: false,
      reason: "unknown_policy",
      detail: expect.stringMatching(/^No policy named "nope" is configured/),
      problem: { type: "urn:durable-patterns:problem:unknown-policy", status: 422 },
    });
    expect(await service.refund(key, { policies: ["nope"] })).toMatchObject({ ok: false, reason: "unknown_policy" });
    expect(accepted(await service.peek(key)).policies).toMatchObject([{ name: "rpc", remaining: 1 }]);
  });

  it("answers every refusal reason it can give as a value (none throws), with the same detail in its problem", async () => {
    const key = uniqueKey();
    const hot = uniqueKey("hot:"); // spread over 4 shards by the SHARDS var
    // Every reason but sharded_key, which only the WebSocket route (not RPC) can give; the type
    // makes this list fail to compile when a reason is added and not shown here.
    const calls: Record<Exclude<RefusalReason, "sharded_key">, () => Promise<unknown>> = {
      invalid_request: () => service.check({ key, policies: [policy], cost: -1 }),
      unknown_policy: () => service.peek(key, ["nope"]),
      cost_exceeds_limit: () => service.check({ key, policies: [policy], cost: 3 }),
      shard_count_mismatch: () => service.check({ key, policies: [policy], shards: 4 }),
      too_many_shards: () => service.check({ key: hot, policies: [policy] }),
      invalid_shard: () => service.refund(hot, { policies: [{ ...policy, limit: 8 }] }),
    };
    const extras: Record<keyof typeof calls, object> = {
      invalid_request: { errors: [{ path: "cost", message: expect.any(String) }] },
      unknown_policy: {},
      cost_exceeds_limit: { policy: "rpc", capacity: 2 },
      shard_count_mismatch: { shards: 1 },
      too_many_shards: { policy: "rpc", limit: 2, shards: 4 },
      invalid_shard: { shards: 4 },
    };
    for (const [reason, call] of Object.entries(calls)) {
      const answer = await call(); // a call that threw would fail the test here
      expect(answer, reason).toMatchObject({
        ok: false,
        reason,
        detail: expect.any(String),
        ...extras[reason as keyof typeof calls],
        problem: { type: expect.stringMatching(/^urn:durable-patterns:problem:/), status: 422 },
      });
      const { detail, problem } = answer as { detail: string; problem: { detail: string } };
      expect(problem.detail, reason).toBe(detail);
    }
    expect(accepted(await service.peek(key)).policies).toEqual([]);
    expect(accepted(await service.peek(hot)).policies).toEqual([]);
  });
});
