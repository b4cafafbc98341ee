/**
 * The API's bearer token: the `WORKFLOW_TOKEN` secret, checked by the shared `requireBearer`
 * (packages/shared/src/bearer.ts): constant-time comparison, 401 for a missing or wrong token, 503
 * when the secret is not set (fail closed). The RPC service needs none: service bindings are
 * private to the account.
 */
import { requireBearer } from "./shared";

/** Requires `Authorization: Bearer <WORKFLOW_TOKEN>`; with `allowQuery`, `?token=` too (WebSockets only). */
export const requireToken = (options: { allowQuery?: boolean } = {}) =>
  requireBearer<Env>({ secret: "WORKFLOW_TOKEN", realm: "workflow", ...options });
