// The caller's own types: `wrangler types` (worker-configuration.d.ts, made by `pnpm typecheck`)
// declares LIMITER as an untyped `Service`; this narrows it to the rate limiter's RPC surface.
// src/rpc.ts names no binding of the rate limiter, so nothing of its Env reaches this one.
import type { RateLimiterRpc } from "../../src/rpc";

declare global {
  interface Env {
    LIMITER: Service<RateLimiterRpc>;
  }
}
