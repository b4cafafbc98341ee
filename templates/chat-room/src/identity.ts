/**
 * Identity from your identity provider: a JWT signed by Cloudflare Access or any OIDC issuer,
 * verified with `jose` against the provider's JWKS (signature, issuer, audience, expiry), and the
 * display name taken from its claims. The token route uses it so that a signed-in person can get a
 * room token in their own name, and nobody can get one in someone else's.
 *
 * @example
 * ```ts
 * const config = jwtConfig(env); // undefined when CHAT_JWKS_URL is empty
 * if (config && config !== "incomplete") {
 *   const result = await verifyIdentity(config, jwt);
 *   if (result.ok) console.log(result.name); // e.g. "Ada Lovelace"
 * }
 * ```
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { DisplayName } from "./protocol";

export interface JwtConfig {
  /** Where the provider publishes its signing keys, e.g. `https://<team>.cloudflareaccess.com/cdn-cgi/access/certs`. */
  jwksUrl: URL;
  /** The `iss` the JWT must carry, e.g. `https://<team>.cloudflareaccess.com`. */
  issuer: string;
  /** The `aud` the JWT must carry: for Access, the application's AUD tag. */
  audience: string;
}

/** Asymmetric algorithms only: never `none`, never an HMAC whose key would be public. */
const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

const UNAVAILABLE = new Set(["network", "ERR_JOSE_GENERIC", "ERR_JWKS_INVALID", "ERR_JWKS_TIMEOUT"]);

/** Leeway for clocks that differ between the provider and Cloudflare, in seconds. */
const CLOCK_TOLERANCE_SECONDS = 30;

/** The claims a name is taken from, in this order: the first that is a valid display name wins. */
export const NAME_CLAIMS = ["name", "preferred_username", "email"] as const;

interface JwtVars {
  CHAT_JWKS_URL?: string;
  CHAT_JWT_ISSUER?: string;
  CHAT_JWT_AUDIENCE?: string;
}

/**
 * The JWT settings: `undefined` when `CHAT_JWKS_URL` is empty (JWTs off), `"incomplete"` when it is
 * set without an issuer and an audience, or is not an https URL (a misconfiguration: never
 * verified loosely, the token route then answers 503).
 */
export function jwtConfig(env: object): JwtConfig | "incomplete" | undefined {
  const vars = env as JwtVars;
  if (!vars.CHAT_JWKS_URL) return undefined;
  if (!vars.CHAT_JWT_ISSUER || !vars.CHAT_JWT_AUDIENCE || !URL.canParse(vars.CHAT_JWKS_URL)) return "incomplete";
  const jwksUrl = new URL(vars.CHAT_JWKS_URL);
  if (jwksUrl.protocol !== "https:") return "incomplete";
  return { jwksUrl, issuer: vars.CHAT_JWT_ISSUER, audience: vars.CHAT_JWT_AUDIENCE };
}

// One key set per JWKS URL for the life of the isolate: jose caches the keys (and refetches, at
// most every 30 s, when a JWT names a key it does not know, as after a key rotation).
const keySets = new Map<string, JWTVerifyGetKey>();

function keySetFor(url: URL): JWTVerifyGetKey {
  let keySet = keySets.get(url.href);
  if (!keySet) {
    keySet = createRemoteJWKSet(url, { timeoutDuration: 5_000 });
    keySets.set(url.href, keySet);
  }
  return keySet;
}

export type IdentityResult =
  { ok: true; name: string } | { ok: false; reason: "invalid" | "no-name" | "unavailable"; detail: string };

/**
 * Verifies `jwt` (signature against the JWKS, `iss`, `aud`, `exp` required and not past, `nbf`)
 * and returns the display name from its claims. `keys` replaces the remote JWKS (tests pass
 * jose's `createLocalJWKSet`).
 */
export async function verifyIdentity(
  config: JwtConfig,
  jwt: string,
  keys: JWTVerifyGetKey = keySetFor(config.jwksUrl),
): Promise<IdentityResult> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(jwt, keys, {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: ALGORITHMS,
      requiredClaims: ["exp"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    }));
  } catch (error) {
    // The provider's keys could not be loaded (network, a non-200, not a key set, a timeout): not
    // the caller's fault, and never a pass either. Everything else is a token that is not valid.
    const code = error instanceof errors.JOSEError ? error.code : "network";
    if (UNAVAILABLE.has(code)) {
      return { ok: false, reason: "unavailable", detail: "The identity provider's keys could not be loaded." };
    }
    return { ok: false, reason: "invalid", detail: "The identity token is not valid." };
  }
  for (const claim of NAME_CLAIMS) {
    const name = DisplayName.safeParse(payload[claim]);
    if (name.success) return { ok: true, name: name.data };
  }
  return {
    ok: false,
    reason: "no-name",
    detail: `The identity token has no ${NAME_CLAIMS.join(", ")} claim usable as a display name (1-32 characters).`,
  };
}
