/**
 * Short-lived room tokens: HMAC-SHA256 over room, name and expiry with the Worker's CHAT_SECRET.
 *
 * A token is `<exp>.<name>.<signature>`: exp in epoch seconds, the name as base64url of its UTF-8,
 * the signature base64url. The room is not inside the token: it comes from the URL and is signed
 * over, so a token works only for the room it was issued for, until it expires. The name is
 * inside so that a token alone says who holds it: the HTTP routes take it as a bearer token and
 * need no name beside it, and joining checks it against the `name` of the join. What is signed is
 * the JSON array `[room, name, exp]` rather than `room|name|exp`: a name may contain `|`, and JSON
 * keeps the fields apart whatever they hold.
 *
 * @example
 * ```ts
 * const { token, expiresAt } = await issueToken(secret, "lobby", "Ada");
 * await verifyToken(secret, "lobby", "Ada", token); // true until expiresAt
 * await verifyToken(secret, "lobby", "Eve", token); // false
 * await tokenHolder(secret, "lobby", token); // "Ada" until expiresAt
 * await tokenHolder(secret, "kitchen", token); // null
 * ```
 */

/** How long a token is valid: long enough to connect, short enough that a leaked one is soon useless. */
export const TOKEN_TTL_SECONDS = 5 * 60;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

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
  return {
    token: `${exp}.${base64url(encoder.encode(name))}.${base64url(new Uint8Array(signature))}`,
    expiresAt: new Date(exp * 1000).toISOString(),
  };
}

/**
 * The name a token was issued to, if it was issued with `secret` for this room and has not expired
 * at `now`; otherwise `null`. The comparison is `crypto.subtle.verify`, which is constant-time.
 */
export async function tokenHolder(
  secret: string,
  room: string,
  token: string,
  now = Date.now(),
): Promise<string | null> {
  // A display name is at most 32 UTF-16 units, so at most 96 UTF-8 bytes: 128 base64url characters.
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{1,128})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return null;
  const exp = Number(match[1]);
  if (exp * 1000 <= now) return null;
  let name: string;
  try {
    name = strictDecoder.decode(fromBase64url(match[2]!));
  } catch {
    return null; // not base64url of UTF-8: never issued here
  }
  const signature = fromBase64url(match[3]!);
  const valid = await crypto.subtle.verify("HMAC", await key(secret, "verify"), signature, signed(room, name, exp));
  return valid ? name : null;
}

/** Whether `token` was issued with `secret` for this room and this name and has not expired at `now`. */
export async function verifyToken(
  secret: string,
  room: string,
  name: string,
  token: string,
  now = Date.now(),
): Promise<boolean> {
  return (await tokenHolder(secret, room, token, now)) === name;
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
