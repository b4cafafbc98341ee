// Vendored from durable-patterns packages/shared/src/bearer.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * Bearer-token auth for an app's private routes: the token is a secret (`wrangler secret put`),
 * compared in constant time over the secret's own length, so neither its content nor its length
 * leaks through response timing (see {@link sameSecret}). An unset secret fails closed with 503.
 */
import type { MiddlewareHandler } from "hono";
import { ProblemError } from "./http";

const encoder = new TextEncoder();

// cache: the configured secret's bytes, encoded once per isolate (again if the secret changes).
let expectedBytes: { secret: string; bytes: Uint8Array } | undefined;

/**
 * Whether `presented` equals `expected`, in time that depends only on the expected secret's length
 * (and on the presented token's, which its sender knows). A token of another length is compared
 * with the secret itself, so a mismatch in length costs the same as one in content. Two SHA-256
 * digests per request did the same and cost a fifth of the rate limiter's Worker JavaScript time
 * per check (bench/src/profile.mjs).
 */
export function sameSecret(presented: string, expected: string): boolean {
  if (expectedBytes?.secret !== expected) expectedBytes = { secret: expected, bytes: encoder.encode(expected) };
  const secret = expectedBytes.bytes;
  const given = encoder.encode(presented);
  const sameLength = given.byteLength === secret.byteLength;
  return crypto.subtle.timingSafeEqual(sameLength ? given : secret, secret) && sameLength;
}

/** The names of the bindings that hold a string (secrets and vars). */
export type StringBinding<B> = { [K in keyof B]-?: B[K] extends string | undefined ? K : never }[keyof B] & string;

export interface BearerOptions<B> {
  /**
   * The binding that holds the token (`"RATE_LIMITER_TOKEN"`): unset or empty fails closed, with a
   * 503 that names it.
   */
  secret: StringBinding<B>;
  /** The `WWW-Authenticate` realm: the app's name. */
  realm: string;
  /**
   * Accept a `?token=` query parameter too: browsers cannot set headers on a WebSocket, at the
   * price of the token appearing in URLs (and so possibly in history; the request log line never
   * carries the query string).
   */
  allowQuery?: boolean;
}

/** Requires `Authorization: Bearer <secret>` (or `?token=` with `allowQuery`): 401, or 503 with no secret. */
export function requireBearer<B extends object>(options: BearerOptions<B>): MiddlewareHandler<{ Bindings: B }> {
  return async (c, next) => {
    const expected = c.env[options.secret] as string | undefined;
    if (!expected) {
      // Fail closed: an unset secret must not mean "no auth".
      throw new ProblemError(503, `This deployment has no ${options.secret} configured.`, {
        type: "not-configured",
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
          type: "unauthorized",
          headers: { "www-authenticate": `Bearer realm="${options.realm}"${error}` },
        },
      );
    }
    await next();
  };
}
