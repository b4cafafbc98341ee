/**
 * Compile-time checks of the typed client (src/client.ts), run by `pnpm typecheck` (tsc): each
 * `@ts-expect-error` fails the build if the client starts to accept what the API refuses, and the
 * last calls fail it if the client stops accepting what the API takes.
 */
import type { counterClient } from "../src/client";

declare const client: ReturnType<typeof counterClient>;
const param = { name: "likes" };

export function checkedByTsc() {
  // @ts-expect-error `by` is a number
  void client.api.counters[":name"].increment.$post({ param, json: { by: "2" } });
  // @ts-expect-error setting a value needs the value
  void client.api.counters[":name"].$put({ param });
  // @ts-expect-error a schedule needs its cron pattern
  void client.api.counters[":name"].schedule.$post({ param, json: { timezone: "UTC" } });
  // Optional bodies may be left out; fields with defaults too.
  void client.api.counters[":name"].increment.$post({ param });
  void client.api.counters[":name"].decrement.$post({ param });
  void client.api["sharded-counters"][":name"].increment.$post({ param });
  void client.api.counters[":name"].schedule.$post({ param, json: { cron: "0 3 * * *" } });
}
