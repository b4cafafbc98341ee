/**
 * The README's snippets for another Worker, as written there (src/rpc.ts for the binding's type,
 * src/middleware.ts for Hono): compiled by `pnpm typecheck` with this folder's own Env, never run.
 */
import { Hono } from "hono";
import { rateLimit } from "../../src/middleware";

// "From another Worker (RPC)"
export async function guard(env: Env, userId: string, key: string, request: Parameters<Env["LIMITER"]["check"]>[0]) {
  const result = await env.LIMITER.check({ key: `user:${userId}`, policies: ["api", "hourly"] });
  if (!result.ok) return Response.json(result.problem, { status: result.problem.status });
  if (!result.allowed) return new Response("Too Many Requests", { status: 429, headers: result.headers });
  const reset = await env.LIMITER.reset(key);
  if (reset.ok) console.log(reset.shards);
  const fast = await env.LIMITER.check(request, { timeout: 50, onError: "allow", cache: true });
  if (fast.ok && fast.unavailable === "timeout") console.log(fast.allowed, fast.headers["RateLimit-Unavailable"]);
  await env.LIMITER.setOverrides("user:42", { api: { limit: 1000, period: 1 } });
  await env.LIMITER.setOverrides("ip:198.51.100.7", { api: { limit: 0, period: 3600 } });
  const overrides = await env.LIMITER.getOverrides("user:42");
  if (overrides.ok) console.log(overrides.overrides.api?.limit);
  await env.LIMITER.deleteOverrides("user:42");
  return null;
}

// "The middleware"
type AppEnv = { Bindings: Env & { JOB_SECRET: string }; Variables: { userId: string } };
const app = new Hono<AppEnv>();
app.use(
  "/api/*",
  rateLimit<AppEnv>({
    policies: ["api"],
    key: (c) => `user:${c.get("userId")}`,
    check: (c, request) => c.env.LIMITER.check(request),
    skip: (c) => c.req.header("x-internal-job") === c.env.JOB_SECRET,
    timeout: 50,
    onError: "allow",
    cache: true,
    refundOn: (res) => res.status >= 500,
    refund: (c, key, request) => c.env.LIMITER.refund(key, request),
    legacyHeaders: true,
  }),
);

export default app;
