/**
 * Bearer-token auth for the API. The token is a secret (`RATE_LIMITER_TOKEN`); it is compared
 * in constant time over SHA-256 digests, so neither its content nor its length leaks through
 * response timing.
 */
import type { MiddlewareHandler } from "hono";
import { ProblemError, problemType } from "@durable-patterns/shared";

const encoder = new TextEncoder();

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/** Whether `presented` equals `expected`, in time that does not depend on where they differ. */
export async function sameSecret(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(presented), digest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
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
    if (presented === undefined || !(await sameSecret(presented, expected))) {
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
