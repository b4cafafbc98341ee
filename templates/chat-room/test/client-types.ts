/**
 * Compile-time checks of the typed client (src/client.ts), run by `pnpm typecheck` (tsc): each
 * `@ts-expect-error` fails the build if the client starts to accept what the API refuses, and the
 * last calls fail it if the client stops accepting what the API takes.
 */
import type { chatClient } from "../src/client";

declare const chat: ReturnType<typeof chatClient>;
const param = { room: "lobby" };

export function checkedByTsc() {
  // @ts-expect-error a token is issued to a name
  void chat.api.rooms[":room"].tokens.$post({ param, json: {} });
  // @ts-expect-error a room is named in the path
  void chat.api.rooms[":room"].count.$get({});
  // The query of a page of messages may be left out (the newest 50).
  void chat.api.rooms[":room"].messages.$get({ param });
  void chat.api.rooms[":room"].messages.$get({ param, query: { limit: "20" } });
  void chat.api.rooms[":room"].tokens.$post({ param, json: { name: "Ada" } });
  void chat.api.tokens.$get();
}
