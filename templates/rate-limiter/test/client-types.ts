/**
 * Compile-time checks of the typed client (src/client.ts), run by `pnpm typecheck` (tsc): each
 * `@ts-expect-error` fails the build if the client starts to accept what the API refuses, and the
 * last calls fail it if the client stops accepting what the API takes.
 */
import type { rateLimiterClient } from "../src/client";

declare const limiter: ReturnType<typeof rateLimiterClient>;
const param = { key: "user:42" };

export function checkedByTsc() {
  // @ts-expect-error a check needs its key
  void limiter.api.check.$post({ json: { policies: ["api"] } });
  // @ts-expect-error a cost is a number
  void limiter.api.check.$post({ json: { key: "k", policies: ["api"], cost: "1" } });
  // Named and inline policies; the cost may be left out.
  void limiter.api.check.$post({
    json: { key: "k", policies: ["api", { name: "p", algorithm: "gcra", limit: 5, period: 1 }] },
  });
  void limiter.api.keys[":key"].$get({ param });
  void limiter.api.keys[":key"].$delete({ param });
}
