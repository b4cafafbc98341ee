/** The API's bearer token: the `RATE_LIMITER_TOKEN` secret (packages/shared/src/bearer.ts). */
import { requireBearer } from "./shared";

/** Requires `Authorization: Bearer <RATE_LIMITER_TOKEN>`; with `allowQuery`, `?token=` too (WebSockets). */
export const requireToken = (options: { allowQuery?: boolean } = {}) =>
  requireBearer<Env>({ secret: "RATE_LIMITER_TOKEN", realm: "rate-limiter", ...options });
