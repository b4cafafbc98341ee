/**
 * The HTTP client (src/client.ts): the typed API client, and readRateLimit, which reads the
 * draft-11 RateLimit fields this limiter sends (and other servers', by the same draft).
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { rateLimiterClient, readRateLimit } from "../src/client";
import { TOKEN, freezeClock, uniqueKey } from "./helpers";

const limiter = rateLimiterClient("https://limiter.example", {
  token: TOKEN,
  fetch: (input, init) => exports.default.fetch(new Request(input, init)),
});
const tight = { name: "tight", algorithm: "fixed-window", limit: 2, period: 60 } as const;
const hourly = { name: "hourly", algorithm: "sliding-window", limit: 100, period: 3600 } as const;

describe("readRateLimit on the limiter's own answers", () => {
  it("reads each policy's limit, window, remaining and reset from an allowed check", async () => {
    const response = await limiter.api.check.$post({ json: { key: uniqueKey(), policies: [tight, hourly] } });
    expect(response.status).toBe(200);
    expect(readRateLimit(response.headers)).toEqual({
      policies: [
        { name: "tight", limit: 2, window: 60, remaining: 1, reset: expect.any(Number) },
        { name: "hourly", limit: 100, window: 3600, remaining: 99, reset: expect.any(Number) },
      ],
    });
  });

  it("reads Retry-After and nothing left from a refused check", async () => {
    const key = uniqueKey();
    // Mid-minute: three checks that crossed a minute would rightly find a new window.
    await freezeClock(key, Date.UTC(2026, 10, 27, 12, 30, 30));
    for (let i = 0; i < 2; i++) await limiter.api.check.$post({ json: { key, policies: [tight] } });
    const refused = await limiter.api.check.$post({ json: { key, policies: [tight] } });
    expect(refused.status).toBe(429);
    const reading = readRateLimit(refused.headers);
    expect(reading.policies).toEqual([
      { name: "tight", limit: 2, window: 60, remaining: 0, reset: expect.any(Number) },
    ]);
    expect(reading.retryAfter).toBeGreaterThan(0);
    expect(reading.retryAfter).toBeLessThanOrEqual(60);
  });

  it("reads a shadow policy apart, marked denied when it would have refused", async () => {
    const key = uniqueKey();
    const shadow = { ...tight, name: "trial", limit: 1, mode: "shadow" } as const;
    await limiter.api.check.$post({ json: { key, policies: [hourly, shadow] } });
    const second = await limiter.api.check.$post({ json: { key, policies: [hourly, shadow] } });
    expect(second.status).toBe(200);
    expect(readRateLimit(second.headers).policies).toEqual([
      { name: "hourly", limit: 100, window: 3600, remaining: 98, reset: expect.any(Number) },
      { name: "trial", limit: 1, window: 60, remaining: 0, reset: expect.any(Number), shadow: true, denied: true },
    ]);
  });
});

describe("readRateLimit on any server's fields", () => {
  it("reads the draft's own example, with token names and policies the other field lacks", () => {
    const headers = new Headers({
      "RateLimit-Policy": '"burst";q=100;w=60, "daily";q=1000;w=86400, weekly;q=5000;w=604800',
      RateLimit: '"burst";r=50;t=30',
    });
    expect(readRateLimit(headers)).toEqual({
      policies: [
        { name: "burst", limit: 100, window: 60, remaining: 50, reset: 30 },
        { name: "daily", limit: 1000, window: 86400 },
        { name: "weekly", limit: 5000, window: 604800 },
      ],
    });
  });

  it("ignores a field that is not a structured list and parameters that are not whole numbers", () => {
    const headers = new Headers({
      "RateLimit-Policy": "not a list ((",
      RateLimit: '"api";r=1.5;t=-2, "ok";r=3;t=4',
      "Retry-After": "soon",
    });
    expect(readRateLimit(headers)).toEqual({ policies: [{ name: "api" }, { name: "ok", remaining: 3, reset: 4 }] });
  });

  it("reads nothing from a response without the fields", () => {
    expect(readRateLimit(new Headers())).toEqual({ policies: [] });
  });
});
