/**
 * Another Worker of yours, calling the rate limiter as its README shows: over RPC through a
 * service binding typed by src/rpc.ts, and through the middleware. `pnpm typecheck` compiles it
 * with this folder's own Env (nothing of the rate limiter's); `pnpm test:e2e` runs it beside the
 * rate limiter in one `wrangler dev` and calls its routes (test/e2e/caller.test.mjs).
 */
import { Hono } from "hono";
import { rateLimit } from "../../src/middleware";

type AppEnv = { Bindings: Env & { JOB_SECRET: string }; Variables: { userId: string } };
const app = new Hono<AppEnv>();

// "From another Worker (RPC)", as written there.
app.get("/rpc/check", async (c) => {
  const { env } = c;
  const userId = c.req.query("user") ?? "anonymous";
  const result = await env.LIMITER.check({ key: `user:${userId}`, policies: ["api", "hourly"] });
  if (!result.ok) return Response.json(result.problem, { status: result.problem.status });
  if (!result.allowed) return new Response("Too Many Requests", { status: 429, headers: result.headers });
  return c.json({ allowed: true, policies: result.policies.map((p) => [p.name, p.remaining]) });
});

// A refusal comes back as a value, with the problem the HTTP API would send.
app.get("/rpc/unknown-policy", async (c) => {
  const result = await c.env.LIMITER.check({ key: "user:1", policies: ["no-such-policy"] });
  if (!result.ok) return Response.json(result.problem, { status: result.problem.status });
  return c.json({ unexpected: result });
});

// Overrides, reset and the failure policy, as the README's RPC snippet lists them.
app.post("/rpc/block", async (c) => {
  const key = `user:${c.req.query("user")}`;
  const set = await c.env.LIMITER.setOverrides(key, { api: { limit: 0, period: 3600 } });
  const read = await c.env.LIMITER.getOverrides(key);
  return c.json({ set: set.ok, overrides: read.ok ? read.overrides : null });
});
app.post("/rpc/unblock", async (c) => {
  const key = `user:${c.req.query("user")}`;
  const deleted = await c.env.LIMITER.deleteOverrides(key);
  const reset = await c.env.LIMITER.reset(key);
  return c.json({ deleted: deleted.ok, shards: reset.ok ? reset.shards : null });
});
app.get("/rpc/fast", async (c) => {
  const request = { key: `user:${c.req.query("user")}`, policies: ["api"] };
  const fast = await c.env.LIMITER.check(request, { timeout: 1000, onError: "allow", cache: true });
  if (!fast.ok) return Response.json(fast.problem, { status: fast.problem.status });
  return c.json({ allowed: fast.allowed, unavailable: fast.unavailable ?? null, cached: fast.cached ?? false });
});

// "The middleware", as written there (its timeout longer: a cold start under CI load is no outage).
const api = new Hono<AppEnv>();
api.use(async (c, next) => {
  c.set("userId", c.req.header("x-user") ?? "anonymous"); // your own auth sets this
  await next();
});
api.use(
  rateLimit<AppEnv>({
    policies: ["api"],
    key: (c) => `user:${c.get("userId")}`,
    check: (c, request) => c.env.LIMITER.check(request),
    skip: (c) => c.req.header("x-internal-job") === c.env.JOB_SECRET,
    timeout: 1000,
    onError: "allow",
    cache: true,
    refundOn: (res) => res.status >= 500,
    refund: (c, key, request) => c.env.LIMITER.refund(key, request),
    legacyHeaders: true,
  }),
);
api.get("/hello", (c) => c.json({ hello: c.get("userId") }));
api.get("/fails", (c) => c.json({ error: "upstream down" }, 502));
app.route("/api", api);

app.get("/", (c) =>
  c.text("A Worker calling the rate limiter: /rpc/* over its service binding, /api/* behind its middleware."),
);

// Answers once the rate limiter's service answers: the e2e runner waits for it (and for `/`).
app.get("/ready", async (c) => {
  const peek = await c.env.LIMITER.peek("ready", ["api"]);
  return c.json({ ok: peek.ok }, peek.ok ? 200 : 503);
});

export default app;
