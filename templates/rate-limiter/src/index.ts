/**
 * The rate limiter Worker: authenticates and validates every request, then asks the key's
 * RateLimiter object. Other Workers can skip HTTP and call `RateLimiterService` over RPC.
 */
import { Hono } from "hono";
import { z } from "zod";
import { apiWorker, jsonBody, limitBody, params, ProblemError, query, requireWebSocket, taskId } from "./shared";
import { version } from "../package.json";
import { requireToken } from "./auth";
import { rateLimitHeaders } from "./headers";
import * as limiter from "./limiter";
import { rateLimit } from "./middleware";
import { policyName } from "./policy";
import { problemError, withProblem } from "./problems";
import { CheckBody, OverridesBody, RefundBody, rateLimitKey } from "./protocol";
import { MAX_SHARDS } from "./sharding";

export { RateLimiter } from "./rate-limiter-object";
export { RateLimiterService } from "./service";

const keyed = params(z.object({ key: rateLimitKey }));
const keyedDeadLetter = params(z.object({ key: rateLimitKey, id: taskId }));
const peekQuery = query(
  z.strictObject({
    policies: z
      .string()
      .transform((list) => list.split(","))
      .pipe(z.array(policyName).min(1).max(10))
      .optional(),
  }),
);
// `shards` is optional: the server's SHARDS setting decides; a count that differs from it is a 422.
const resetQuery = query(z.strictObject({ shards: z.coerce.number().int().min(1).max(MAX_SHARDS).optional() }));

/**
 * The result of an operation the limiter accepted, without its `ok`; a refusal is thrown as its
 * 422 problem (see src/problems.ts), which `onError` answers with.
 */
function accepted<T>(answer: limiter.Answer<T>): T {
  if (!answer.ok) throw problemError(answer);
  const { ok: _ok, ...result } = answer;
  return result as T;
}

const api = new Hono<{ Bindings: Env }>()
  // Every body this API accepts is small (ten inline policies fit in 2 KiB).
  .use(limitBody(4096))
  .get("/keys/:key/websocket", requireToken({ allowQuery: true }), keyed, requireWebSocket, async (c) => {
    const { key } = c.req.valid("param");
    return accepted(await limiter.watch(c.env, key, c.req.raw)).response;
  })
  .use(requireToken())
  .post("/check", jsonBody(CheckBody), async (c) => {
    // DENIAL_CACHE: denials this isolate remembers are answered without the object (README, "Denial cache").
    const cache = limiter.denialCacheOn(c.env);
    const result = accepted(await limiter.checkValid(c.env, c.req.valid("json"), { cache }));
    return c.json(result, result.allowed ? 200 : 429, rateLimitHeaders(result));
  })
  .get("/keys/:key", keyed, peekQuery, async (c) => {
    const { key } = c.req.valid("param");
    const { policies } = c.req.valid("query");
    const result = accepted(await limiter.peek(c.env, key, policies));
    return c.json({ key, ...result }, 200, rateLimitHeaders({ ...result, allowed: true }));
  })
  .post("/keys/:key/refund", keyed, jsonBody(RefundBody), async (c) => {
    const { key } = c.req.valid("param");
    return c.json({ key, ...accepted(await limiter.refund(c.env, key, c.req.valid("json"))) });
  })
  .delete("/keys/:key", keyed, resetQuery, async (c) => {
    const { key } = c.req.valid("param");
    accepted(await limiter.reset(c.env, key, c.req.valid("query").shards));
    return c.body(null, 204);
  })
  .get("/keys/:key/overrides", keyed, async (c) => {
    const { key } = c.req.valid("param");
    return c.json({ key, ...accepted(await limiter.getOverrides(c.env, key)) });
  })
  .put("/keys/:key/overrides", keyed, jsonBody(OverridesBody), async (c) => {
    const { key } = c.req.valid("param");
    return c.json({ key, ...accepted(await limiter.setOverrides(c.env, key, c.req.valid("json"))) });
  })
  .delete("/keys/:key/overrides", keyed, async (c) => {
    const { key } = c.req.valid("param");
    accepted(await limiter.deleteOverrides(c.env, key));
    return c.body(null, 204);
  })
  // The key's own object's dead letters (a sharded key's shards are objects of their own).
  .get("/keys/:key/dead-letters", keyed, async (c) => {
    const { key } = c.req.valid("param");
    return c.json({ key, deadLetters: await limiter.objectFor(c.env, key).deadLetters() });
  })
  .post("/keys/:key/dead-letters/:id/retry", keyedDeadLetter, async (c) => {
    const { key, id } = c.req.valid("param");
    const result = await limiter.objectFor(c.env, key).retryDeadLetter(id);
    if (!result.ok) {
      throw new ProblemError(404, `Key "${key}" has no dead letter ${id}.`, {
        type: "no-such-dead-letter",
      });
    }
    return c.json({ key, task: result.task });
  });

const app = apiWorker({ app: "rate-limiter", version, objectParam: "key" }, api)
  // A public route limited per client IP by the middleware other Workers can copy.
  .get(
    "/demo",
    rateLimit<{ Bindings: Env }>({
      policies: ["demo"],
      check: async (c, request) => withProblem(await limiter.check(c.env, request)),
    }),
    (c) => c.json({ message: "Hello! This route admits 5 requests per 10 seconds per IP." }),
  );

/** The API's route types, for Hono's typed client `hc<RateLimiterApi>(url)`. */
export type RateLimiterApi = typeof app;

export default app satisfies ExportedHandler<Env>;
