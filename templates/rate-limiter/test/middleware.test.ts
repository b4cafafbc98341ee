/**
 * The Hono middleware (src/middleware.ts), shown on the app's public GET /demo route: limited to
 * the "demo" policy (GCRA, 5 per 10 s) per client IP, with the IETF headers on every answer.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { onError } from "../src/shared";
import { rateLimit } from "../src/middleware";
import { withProblem } from "../src/problems";
import { api } from "./helpers";

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
