/**
 * The Hono middleware (src/middleware.ts), shown on the app's public GET /demo route: limited to
 * the "demo" policy (GCRA, 5 per 10 s) per client IP, with the IETF headers on every answer.
 */
import { Hono } from "hono";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { onError } from "../src/shared";
import * as limiter from "../src/limiter";
import { ipKey, rateLimit, type RateLimitOptions } from "../src/middleware";
import { withProblem } from "../src/problems";
import { api, freezeClock, stub, uniqueKey } from "./helpers";
import { storageCost } from "../src/shared/testing";

let ip = 1;
/** A client IP no other test uses (TEST-NET-3). */
const nextIp = () => `203.0.113.${ip++}`;

function demo(clientIp: string): Promise<Response> {
  return api("/demo", { headers: { authorization: "", "cf-connecting-ip": clientIp } });
}

describe("rate-limit middleware on GET /demo", () => {
  it("lets 5 requests through with RateLimit headers, then answers 429 problem+json with Retry-After", async () => {
    const client = nextIp();
    for (let remaining = 4; remaining >= 0; remaining--) {
      const response = await demo(client);
      expect(response.status).toBe(200);
      expect(response.headers.get("RateLimit-Policy")).toBe('"demo";q=5;w=10');
      expect(response.headers.get("RateLimit")).toMatch(new RegExp(`^"demo";r=${remaining};t=\\d+$`));
    }
    const refused = await demo(client);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.headers.get("Retry-After")).toBe("2");
    expect(await refused.json()).toMatchObject({
      type: "urn:durable-patterns:problem:rate-limited",
      detail: "Rate limit exceeded; retry in 2 s.",
    });
  });

  it("counts each client IP separately", async () => {
    const [a, b] = [nextIp(), nextIp()];
    for (let i = 0; i < 5; i++) await demo(a);
    expect((await demo(a)).status).toBe(429);
    expect((await demo(b)).status).toBe(200);
  });

  it("answers a check the limiter refuses with the refusal's problem, as the HTTP API would, and runs no handler", async () => {
    let handled = false;
    const app = new Hono()
      .use(
        rateLimit({
          policies: ["nope"],
          check: async () => withProblem({ ok: false, reason: "unknown_policy", detail: 'No policy named "nope".' }),
        }),
      )
      .get("/", (c) => {
        handled = true;
        return c.text("ok");
      });
    app.onError(onError);
    const response = await app.request("/");
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toEqual({
      type: "urn:durable-patterns:problem:unknown-policy",
      title: "Unprocessable Content",
      status: 422,
      detail: 'No policy named "nope".',
    });
    expect(handled).toBe(false);
  });
});

/** An app behind the middleware, checking with this app's limiter; counts the handler's runs. */
function limitedApp(
  options: Partial<RateLimitOptions<{ Bindings: Env }>>,
  handler: (c: { text: (t: string, s?: 200 | 500) => Response }) => Response = (c) => c.text("ok"),
) {
  const handled = { count: 0 };
  const app = new Hono<{ Bindings: Env }>()
    .use(
      rateLimit<{ Bindings: Env }>({
        policies: [{ name: "m", algorithm: "fixed-window", limit: 2, period: 3600 }],
        check: async (c, request) => withProblem(await limiter.check(c.env, request)),
        refund: async (c, key, request) => withProblem(await limiter.refund(c.env, key, request)),
        ...options,
      }),
    )
    .get("/", (c) => {
      handled.count++;
      return handler(c as never);
    });
  app.onError(onError);
  return { app, handled, request: (headers: Record<string, string> = {}) => app.request("/", { headers }, env) };
}

describe("the default key: the client IP, an IPv6 client by its /64", () => {
  it("groups IPv6 addresses by their first 64 bits, in any notation, and keeps IPv4 (also IPv4-mapped) as it is", () => {
    expect(ipKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).toBe("ip:2001:db8:1:2::/64");
    expect(ipKey("2001:0DB8:0001:0002::1")).toBe("ip:2001:db8:1:2::/64");
    expect(ipKey("2001:db8::1")).toBe("ip:2001:db8:0:0::/64");
    expect(ipKey("fe80::1%eth0")).toBe("ip:fe80:0:0:0::/64");
    expect(ipKey("::1")).toBe("ip:0:0:0:0::/64");
    expect(ipKey("2001:db8:1:2:3:4:192.0.2.1")).toBe("ip:2001:db8:1:2::/64");
    expect(ipKey("::ffff:192.0.2.1")).toBe("ip:192.0.2.1");
    expect(ipKey("192.0.2.1")).toBe("ip:192.0.2.1");
    expect(ipKey(undefined)).toBe("ip:unknown");
    // Not an address: kept as sent, never merged with another client's.
    expect(ipKey("2001:db8::1::2")).toBe("ip:2001:db8::1::2");
    expect(ipKey("1:2:3:4:5:6:7:8:9")).toBe("ip:1:2:3:4:5:6:7:8:9");
  });

  it("makes one host rotating through its /64 share one bucket on GET /demo, and another /64 get its own", async () => {
    const prefix = `2001:db8:${(Date.now() % 0xffff).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}`;
    for (let i = 1; i <= 5; i++) expect((await demo(`${prefix}::${i}`)).status).toBe(200);
    expect((await demo(`${prefix}:ffff:ffff:ffff:ffff`)).status).toBe(429);
    expect((await demo(`${prefix.replace("2001:db8", "2001:db9")}::1`)).status).toBe(200);
  });
});

describe("rateLimit options", () => {
  it("skip(c): a skipped request is neither checked nor counted, and gets no headers", async () => {
    const key = uniqueKey();
    const { request, handled } = limitedApp({ key: () => key, skip: (c) => c.req.header("x-internal") === "1" });
    for (let i = 0; i < 5; i++) {
      const response = await request({ "x-internal": "1" });
      expect(response.status).toBe(200);
      expect(response.headers.get("RateLimit")).toBeNull();
    }
    expect(handled.count).toBe(5);
    expect((await request()).headers.get("RateLimit")).toMatch(/^"m";r=1;/);
  });

  it("refundOn: a response the caller marks failed gives its unit back", async () => {
    const key = uniqueKey();
    let status: 200 | 500 = 500;
    const { request } = limitedApp({ key: () => key, refundOn: (res) => res.status >= 500 }, (c) =>
      c.text("x", status),
    );
    for (let i = 0; i < 5; i++) expect((await request()).status).toBe(500); // each refunded: never limited
    status = 200;
    expect((await request()).status).toBe(200);
    expect((await request()).status).toBe(200);
    expect((await request()).status).toBe(429);
  });

  it("refundOn without refund is a configuration error, at once", () => {
    expect(() =>
      rateLimit({ policies: ["api"], check: async () => ({ allowed: true, policies: [] }), refundOn: () => true }),
    ).toThrow("rateLimit: refundOn needs refund");
  });

  it("legacyHeaders: X-RateLimit-Limit, -Remaining and -Reset of the tightest policy beside the IETF fields", async () => {
    const key = uniqueKey();
    const { request } = limitedApp({
      key: () => key,
      legacyHeaders: true,
      policies: [
        { name: "wide", algorithm: "fixed-window", limit: 100, period: 3600 },
        { name: "m", algorithm: "fixed-window", limit: 2, period: 3600 },
      ],
    });
    const response = await request();
    expect(response.headers.get("X-RateLimit-Limit")).toBe("2");
    expect(response.headers.get("X-RateLimit-Remaining")).toBe("1");
    expect(Number(response.headers.get("X-RateLimit-Reset"))).toBeGreaterThan(0);
    expect(response.headers.get("RateLimit-Policy")).toBe('"wide";q=100;w=3600, "m";q=2;w=3600');
    await request();
    const refused = await request();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("X-RateLimit-Remaining")).toBe("0");
  });

  it("cache: a refused key is answered from the isolate's memory without calling check, and never admitted early", async () => {
    const key = uniqueKey();
    // Mid-window, so the refusal's wait is half an hour whatever the wall clock says: a refusal in
    // the last 2 s of an hour (a wait of 2 s or less) is rightly never remembered.
    await freezeClock(key, Date.UTC(2026, 10, 27, 12, 30));
    let checks = 0;
    const { request } = limitedApp({
      key: () => key,
      cache: true,
      check: async (c, body) => {
        checks++;
        return withProblem(await limiter.check(c.env, body));
      },
    });
    await request();
    await request();
    expect((await request()).status).toBe(429); // asked: the object refuses for most of an hour
    expect(checks).toBe(3);
    const spent = await storageCost(stub(key), async () => {
      for (let i = 0; i < 10; i++) expect((await request()).status).toBe(429);
    });
    expect(checks).toBe(3);
    expect(spent).toEqual({ statements: 0, rowsRead: 0, rowsWritten: 0 });
  });
});
