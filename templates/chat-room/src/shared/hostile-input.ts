// Vendored from durable-patterns packages/shared/src/hostile-input.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * Hostile HTTP input for property tests, and the checks every "any request, however malformed"
 * property makes of the answers. Each app's reliability test combines these with its own routes,
 * bodies and model; what a client can send to any Worker (names that are not UTF-8, methods a route
 * does not take, content types a JSON API must refuse) is written once, here. Tests only.
 *
 * @example
 * ```ts
 * import * as hostile from "@durable-patterns/shared/hostile-input";
 *
 * const { runs, seed, figures } = hostile.propertyRuns("reliability", { refused: 0 });
 * const request = fc.record({
 *   endpoint: hostile.endpoints(["GET ", "POST /increment"], ["/nope"]),
 *   tracked: hostile.mostly(true),
 *   name: hostile.segment(),
 *   contentType: hostile.contentType,
 *   body: fc.string(),
 * });
 * // ... const response = await api(path, hostile.requestInit(method, r.contentType, r.body));
 * // ... if (response.status >= 400) await hostile.expectProblem(response, method);
 * ```
 */
import { abortAllDurableObjects, evictDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, expect, inject } from "vitest";

/**
 * A fixed pool of object names taken in turn, each case putting its object into a known state
 * first. A fresh object per case would be simpler, but workerd keeps each live object's SQLite
 * files open, and a 10,000-case soak then exhausts file descriptors (SQLITE_CANTOPEN): a limit of
 * the single test process, not of production, where objects are spread over machines.
 */
export function namePool(make: () => string, size = 32): { names: string[]; take: () => string } {
  const names = Array.from({ length: size }, make);
  let next = 0;
  return { names, take: () => names[next++ % size]! };
}

/** Percent-encodes a string's UTF-8 bytes (lone surrogates become U+FFFD, as a browser sends). */
export const encodeUtf8 = (text: string) =>
  [...new TextEncoder().encode(text)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");

/** Percent-escapes that are not UTF-8 at all, or not escapes. */
export const brokenEscape = fc.constantFrom("%FF", "%C0%80", "%ED%A0%80", "%E2%82", "%", "%zz", "%00", "%2", "+");

/**
 * A path segment where a route expects a name: any text (encoded), raw bytes, broken escapes, and
 * the names a router must refuse or keep apart (too long, dots, the shard separator `~`, an
 * encoded slash or space), plus the app's own `extra` cases.
 */
export function segment(...extra: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: "binary", minLength: 1, maxLength: 80 }).map(encodeUtf8),
    fc.uint8Array({ minLength: 1, maxLength: 12 }).map((bytes) => [...bytes].map((b) => `%${b.toString(16)}`).join("")),
    brokenEscape,
    fc.constantFrom("x".repeat(65), "a.b", "a~1", "..", "%2e%2e", "a%2Fb", "%00", "a%20b", ...extra),
  );
}

const MAX = Number.MAX_SAFE_INTEGER;

/** Numbers a JSON field may hold that a schema must refuse or handle: fractions, huge, -0, unsafe. */
export const strangeNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double(),
  fc.constantFrom(0, -0, 0.1, 0.5, 2 ** 53, -(2 ** 53), MAX, -MAX, 1e308),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => Number(n)),
);

/** Every method a client may send, the ones no route takes included. */
export const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] as const;

/**
 * Mostly the app's real routes, written `"<METHOD> <route>"` (`weight` to 1), otherwise any method
 * on any of the routes or the `others` (paths no route serves).
 */
export function endpoints(
  routes: string[],
  others: string[],
  weight = 3,
): fc.Arbitrary<{ method: string; route: string }> {
  const real = routes.map((line) => {
    const space = line.indexOf(" ");
    return { method: line.slice(0, space), route: line.slice(space + 1) };
  });
  return fc.oneof(
    { weight, arbitrary: fc.constantFrom(...real) },
    {
      weight: 1,
      arbitrary: fc.record({
        method: fc.constantFrom<string>(...METHODS),
        route: fc.constantFrom(...new Set([...real.map((r) => r.route), ...others])),
      }),
    },
  );
}

/**
 * The cases and seed of this file's properties (vitest.config.ts provides them from `FC_RUNS` and
 * `FC_SEED`), printed so that a failure can be replayed, and `figures` the properties count into,
 * printed after the file's tests as `<label> figures: {...}`.
 */
export function propertyRuns<F extends Record<string, number>>(label: string, figures: F) {
  const runs = inject("fcRuns");
  const seed = inject("fcSeed");
  console.log(`${label}: ${runs} runs per property, seed ${seed}`);
  afterAll(() => console.log(`${label} figures: ${JSON.stringify(figures)}`));
  return { runs, seed, figures };
}

/**
 * The platform's own moves between a sequence's commands, each as likely as one plain command:
 * the object evicted (it constructs again from storage) or aborted (`ctx.abort()`, as a crash).
 * Spread into a sequence's `fc.oneof`.
 */
export const evictOrAbort = [
  { weight: 1, arbitrary: fc.constant({ kind: "evict" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "abort" as const }) },
];

/**
 * Evicts the object behind `stub`, as the platform may at any moment (it constructs again from
 * storage at its next request). One that is not running has nothing to evict: no failure, since a
 * sequence may evict twice in a row or right after an abort.
 */
export async function evict(stub: DurableObjectStub): Promise<void> {
  await evictDurableObject(stub).catch(() => {
    // Not running right now: nothing to evict.
  });
}

/**
 * Makes a move of {@link evictOrAbort}: evicts the object behind `stub`, or aborts every object of
 * the isolate (`abortAllDurableObjects`, as a crash: its sockets are dropped, not hibernated),
 * counted in `figures`. What the clients see next (a socket that keeps working, or one closed to
 * reconnect) is each sequence's own check.
 */
export async function platformMove(
  kind: "evict" | "abort",
  stub: DurableObjectStub,
  figures: { evictions: number; aborts: number },
): Promise<void> {
  if (kind === "evict") {
    figures.evictions++;
    await evict(stub);
  } else {
    figures.aborts++;
    await abortAllDurableObjects();
  }
}

/** `value` four times in five, its opposite otherwise: keeps the common case common. */
export function mostly(value: boolean): fc.Arbitrary<boolean> {
  return fc.oneof({ weight: 4, arbitrary: fc.constant(value) }, { weight: 1, arbitrary: fc.constant(!value) });
}

/** Mostly JSON; otherwise none, JSON with parameters, problem+json, and types a JSON API refuses. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.constant("application/json") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      undefined,
      "application/json; charset=utf-8",
      "application/problem+json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "",
    ),
  },
);

/** The request init of a generated request: the body only where the method may carry one. */
export function requestInit(
  method: string,
  type: string | undefined,
  body: string | Uint8Array | undefined,
  headers: Record<string, string> = {},
): RequestInit & { body: string | Uint8Array | undefined } {
  const all = { ...headers };
  if (type !== undefined) all["content-type"] = type;
  const hasBody = method !== "GET" && method !== "HEAD" && body !== undefined;
  return { method, headers: all, body: hasBody ? body : undefined };
}

/** A refusal is a 4xx problem+json whose `status` is the response's (HEAD answers carry no body). */
export async function expectProblem(response: Response, method: string): Promise<void> {
  expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
  if (method === "HEAD") return;
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  expect(((await response.json()) as { status: number }).status).toBe(response.status);
}
