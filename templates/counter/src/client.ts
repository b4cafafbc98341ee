/**
 * A typed HTTP client for the counter API, for other Workers and for Node or browser code.
 * Routes, parameters, bodies and responses are checked by TypeScript against the router itself.
 *
 * @example
 * ```ts
 * // From another Worker with a service binding named COUNTER_API:
 * const counters = counterClient("https://counter", { fetch: env.COUNTER_API.fetch.bind(env.COUNTER_API) });
 * const res = await counters.api.counters[":name"].increment.$post({ param: { name: "likes" }, json: { by: 2 } });
 * if (res.ok) console.log((await res.json()).value);
 * ```
 */
import { hc } from "hono/client";
import type { CounterApi } from "./index";

export function counterClient(baseUrl: string, options: { fetch?: typeof fetch } = {}) {
  return hc<CounterApi>(baseUrl, options);
}
