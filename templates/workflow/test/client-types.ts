/**
 * Compile-time checks of the typed client (src/client.ts), run by `pnpm typecheck` (tsc): each
 * `@ts-expect-error` fails the build if the client starts to accept what the API refuses, and the
 * last calls fail it if the client stops accepting what the API takes.
 */
import type { workflowClient } from "../src/client";

declare const client: ReturnType<typeof workflowClient>;
const param = { id: "order-42" };

export function checkedByTsc() {
  // @ts-expect-error a create names its workflow
  void client.api.instances.$post({ json: { id: "order-42" } });
  // @ts-expect-error onConflict is "error" or "return"
  void client.api.instances.$post({ json: { workflow: "order", onConflict: "ignore" } });
  // @ts-expect-error an event goes to an instance and has a type
  void client.api.instances[":id"].events[":type"].$post({ param });
  // @ts-expect-error restart from a step name or { name, count }, nothing else
  void client.api.instances[":id"].restart.$post({ param, json: { from: 2 } });
  // @ts-expect-error a page's limit is a query string, as in the URL
  void client.api.instances.$get({ query: { limit: 10 } });
  // Optional bodies may be left out: an event without payload or key, a restart from the top.
  void client.api.instances[":id"].events[":type"].$post({ param: { ...param, type: "approval" } });
  void client.api.instances[":id"].restart.$post({ param });
  void client.api.instances[":id"].restart.$post({ param, json: { from: { name: "charge card", count: 2 } } });
  void client.api.instances[":id"].pause.$post({ param });
  void client.api.instances.$post({ json: { workflow: "order", params: { orderId: "42", amount: 25 } } });
  void client.api.instances.$get({ query: { workflow: "order", status: "waiting", limit: "50" } });
  void client.api.instances.$get({});
}
