/**
 * Short-lived join tokens: HMAC-SHA256 over room, name and expiry with the Worker's CHAT_SECRET.
 *
 * A token is `<exp>.<signature>` (exp in epoch seconds, the signature base64url). The room and
 * the name are not inside the token: they come from the join URL and are signed over, so a token
 * works only for the room and the name it was issued for, until it expires. What is signed is the
 * JSON array `[room, name, exp]` rather than `room|name|exp`: a name may contain `|`, and JSON
 * keeps the fields apart whatever they hold.
 *
 * @example
 * ```ts
 * const { token, expiresAt } = await issueToken(secret, "lobby", "Ada");
 * await verifyToken(secret, "lobby", "Ada", token); // true until expiresAt
 * await verifyToken(secret, "lobby", "Eve", token); // false
 * ```
 */

/** How long a token is valid: long enough to connect, short enough that a leaked one is soon useless. */
export const TOKEN_TTL_SECONDS = 5 * 60;

const encoder = new TextEncoder();

function key(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

function signed(room: string, name: string, exp: number): Uint8Array {
  return encoder.encode(JSON.stringify([room, name, exp]));
}

/** Issues a token for `name` in `room`, valid for {@link TOKEN_TTL_SECONDS} from `now` (epoch ms). */
export async function issueToken(
  secret: string,
  room: string,
  name: string,
  now = Date.now(),
): Promise<{ token: string; expiresAt: string }> {
  const exp = Math.floor(now / 1000) + TOKEN_TTL_SECONDS;
  const signature = await crypto.subtle.sign("HMAC", await key(secret, "sign"), signed(room, name, exp));
  return { token: `${exp}.${base64url(new Uint8Array(signature))}`, expiresAt: new Date(exp * 1000).toISOString() };
}

/**
 * Whether `token` was issued with `secret` for this room and name and has not expired at `now`.
 * The comparison is `crypto.subtle.verify`, which is constant-time.
 */
export async function verifyToken(
  secret: string,
  room: string,
  name: string,
  token: string,
  now = Date.now(),
): Promise<boolean> {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return false;
  const exp = Number(match[1]);
  if (exp * 1000 <= now) return false;
  const signature = fromBase64url(match[2]!);
  return crypto.subtle.verify("HMAC", await key(secret, "verify"), signature, signed(room, name, exp));
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}
