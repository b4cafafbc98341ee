/**
 * When the limiter cannot answer: `timeout` (ms) bounds the wait, and `onError` decides what a
 * timeout or a failure means, `"deny"` by default. The decision is logged, and the answer carries
 * `RateLimit-Unavailable: timeout` (or `error`) instead of the RateLimit fields. Shown with an
 * object that hangs and one that throws, for the RPC service and for the middleware.
 */
import { exports } from "cloudflare:workers";
import { logLinesOf } from "../src/shared/testing";
import { onError } from "../src/shared";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { rateLimit, type CheckAnswer } from "../src/middleware";
import { RateLimiter } from "../src/rate-limiter-object";
import { uniqueKey } from "./helpers";

const service = exports.RateLimiterService;
const policy = { name: "p", algorithm: "gcra", limit: 10, period: 60 } as const;

/**
 * Makes every RateLimiter object's `check` hang for 200 ms (far past the timeouts below), or
 * throw. The objects run in the tests' isolate, so their class's prototype is this one. The hang
 * ends by a timer in the object itself: a promise settled from the test would be I/O of another
 * context.
 */
function objectsHang() {
  vi.spyOn(RateLimiter.prototype, "check").mockImplementation(
    () => new Promise((resolve) => setTimeout(() => resolve({ allowed: true, policies: [] }), 200)) as never,
  );
}
function objectsThrow() {
  vi.spyOn(RateLimiter.prototype, "check").mockImplementation(() => {
    throw new Error("injected: storage is on fire");
  });
}
afterEach(() => vi.restoreAllMocks());

/** The one line the decision is logged as. */
function unavailableLine(failure: string, onError: string) {
  return {
    console: "error",
    line: expect.objectContaining({
      level: "error",
      message: "rate limit unavailable",
      app: "rate-limiter",
      failure,
      onError,
      decision: onError === "allow" ? "allowed" : "denied",
      keyPrefix: "user:",
      ms: expect.any(Number),
    }),
  };
}

describe("RateLimiterService.check with timeout and onError", () => {
  it("denies by default when the object does not answer in time, with RateLimit-Unavailable: timeout and no RateLimit fields", async () => {
    objectsHang();
    const key = uniqueKey("user:");
    let answer: unknown;
    const lines = await logLinesOf(async () => {
      answer = await service.check({ key, policies: [policy] }, { timeout: 20 });
    });
    expect(answer).toEqual({
      ok: true,
      allowed: false,
      policies: [],
      unavailable: "timeout",
      headers: { "RateLimit-Unavailable": "timeout" },
    });
    expect(lines.filter((l) => l.line.message === "rate limit unavailable")).toEqual([
      unavailableLine("timeout", "deny"),
    ]);
  });

  it('allows with onError: "allow" when the object hangs', async () => {
    objectsHang();
    const answer = await service.check(
      { key: uniqueKey("user:"), policies: [policy] },
      { timeout: 20, onError: "allow" },
    );
    expect(answer).toMatchObject({
      ok: true,
      allowed: true,
      unavailable: "timeout",
      headers: { "RateLimit-Unavailable": "timeout" },
    });
  });

  it("answers a failing object with the onError decision and RateLimit-Unavailable: error, logging the error", async () => {
    objectsThrow();
    let answers: unknown[] = [];
    const lines = await logLinesOf(async () => {
      answers = [
        await service.check({ key: uniqueKey("user:"), policies: [policy] }, { onError: "allow" }),
        await service.check({ key: uniqueKey("user:"), policies: [policy] }),
      ];
    });
    expect(answers).toEqual([
      { ok: true, allowed: true, policies: [], unavailable: "error", headers: { "RateLimit-Unavailable": "error" } },
      { ok: true, allowed: false, policies: [], unavailable: "error", headers: { "RateLimit-Unavailable": "error" } },
    ]);
    const logged = lines.filter((l) => l.line.message === "rate limit unavailable");
    expect(logged).toEqual([unavailableLine("error", "allow"), unavailableLine("error", "deny")]);
    expect(logged[0]!.line.error).toContain("injected: storage is on fire");
  });

  it("answers as usual when the object answers in time", async () => {
    const answer = await service.check({ key: uniqueKey("user:"), policies: [policy] }, { timeout: 5_000 });
    expect(answer).toMatchObject({ ok: true, allowed: true, headers: { RateLimit: '"p";r=9;t=6' } });
    expect(answer).not.toHaveProperty("unavailable");
  });
});

describe("rateLimit middleware with timeout and onError", () => {
  /** An app behind the middleware whose check is `check`; counts the handler's runs. */
  function appWith(check: () => Promise<CheckAnswer>, options: { timeout?: number; onError?: "allow" | "deny" }) {
    const handled = { count: 0 };
    const app = new Hono().use(rateLimit({ policies: ["p"], key: () => "k-1", check, ...options })).get("/", (c) => {
      handled.count++;
      return c.text("ok");
    });
    app.onError(onError);
    return { app, handled };
  }
  const hang = () => new Promise<CheckAnswer>(() => {});
  const fail = () => Promise.reject(new Error("injected: binding unavailable"));

  it("refuses with a 503 problem by default when the check hangs past the timeout, without RateLimit fields", async () => {
    const { app, handled } = appWith(hang, { timeout: 20 });
    const response = await app.request("/");
    expect(response.status).toBe(503);
    expect(response.headers.get("RateLimit-Unavailable")).toBe("timeout");
    expect(response.headers.get("RateLimit")).toBeNull();
    expect(await response.json()).toMatchObject({
      type: "urn:durable-patterns:problem:rate-limiter-unavailable",
      detail: "The rate limiter did not answer (timeout); the request is refused.",
    });
    expect(handled.count).toBe(0);
  });

  it('lets the request through with onError: "allow", saying why in RateLimit-Unavailable', async () => {
    const { app, handled } = appWith(hang, { timeout: 20, onError: "allow" });
    const response = await app.request("/");
    expect(response.status).toBe(200);
    expect(response.headers.get("RateLimit-Unavailable")).toBe("timeout");
    expect(response.headers.get("RateLimit-Policy")).toBeNull();
    expect(handled.count).toBe(1);
  });

  it("treats a check that throws as an error: denied by default, allowed with onError: allow, logged either way", async () => {
    const denied = appWith(fail, {});
    const allowed = appWith(fail, { onError: "allow" });
    let statuses: number[] = [];
    const lines = await logLinesOf(async () => {
      const responses = [await denied.app.request("/"), await allowed.app.request("/")];
      statuses = responses.map((r) => r.status);
      expect(responses.map((r) => r.headers.get("RateLimit-Unavailable"))).toEqual(["error", "error"]);
    });
    expect(statuses).toEqual([503, 200]);
    expect(lines.filter((l) => l.line.message === "rate limit unavailable").map((l) => l.line.decision)).toEqual([
      "denied",
      "allowed",
    ]);
  });
});
