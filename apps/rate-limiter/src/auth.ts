/**
 * Bearer-token auth for the API. The token is a secret (`RATE_LIMITER_TOKEN`); it is compared in
 * constant time over the secret's own length, so neither its content nor its length leaks through
 * response timing (see {@link sameSecret}).
 */
import type { MiddlewareHandler } from "hono";
import { ProblemError, problemType } from "@durable-patterns/shared";

const encoder = new TextEncoder();

// cache: the configured secret's bytes, encoded once per isolate (again if the secret changes).
let expectedBytes: { secret: string; bytes: Uint8Array } | undefined;

/**
 * Whether `presented` equals `expected`, in time that depends only on the expected secret's length
 * (and on the presented token's, which its sender knows). A token of another length is compared
 * with the secret itself, so a mismatch in length costs the same as one in content. Two SHA-256
 * digests per request did the same and cost a fifth of the Worker's JavaScript time per check
 * (bench/src/profile.mjs).
 */
export function sameSecret(presented: string, expected: string): boolean {
  if (expectedBytes?.secret !== expected) expectedBytes = { secret: expected, bytes: encoder.encode(expected) };
  const secret = expectedBytes.bytes;
  const given = encoder.encode(presented);
  const sameLength = given.byteLength === secret.byteLength;
  return crypto.subtle.timingSafeEqual(sameLength ? given : secret, secret) && sameLength;
}

/**
 * Requires `Authorization: Bearer <RATE_LIMITER_TOKEN>`. With `allowQuery`, a `?token=` query
 * parameter is accepted too: browsers cannot set headers on a WebSocket, at the price of the
 * token appearing in URLs (and so possibly in logs and history).
 */
export function requireToken(options: { allowQuery?: boolean } = {}): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const expected = c.env.RATE_LIMITER_TOKEN;
    if (!expected) {
      // Fail closed: an unset secret must not mean "no auth".
      throw new ProblemError(503, "The rate limiter has no RATE_LIMITER_TOKEN configured.", {
        type: problemType("not-configured"),
      });
    }
    const header = c.req.header("authorization");
    const presented =
      header?.match(/^Bearer +([^\s]+)$/i)?.[1] ?? (options.allowQuery ? c.req.query("token") : undefined);
    if (presented === undefined || !sameSecret(presented, expected)) {
      const error = presented === undefined ? "" : ', error="invalid_token"';
      throw new ProblemError(
        401,
        presented === undefined ? "Send Authorization: Bearer <token>." : "The token is not valid.",
        {
          type: problemType("unauthorized"),
          headers: { "www-authenticate": `Bearer realm="rate-limiter"${error}` },
        },
      );
    }
    await next();
  };
}
