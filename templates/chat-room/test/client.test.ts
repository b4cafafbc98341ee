/**
 * The typed client (src/client.ts) talks to the same routes with types checked at compile time.
 */
import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { chatClient } from "../src/client";
import worker from "../src/index";
import { issueToken } from "../src/tokens";
import { fill, uniqueRoom } from "./helpers";

const client = chatClient("https://chat.example", {
  fetch: (input, init) => exports.default.fetch(new Request(input, init)),
});

describe("typed client", () => {
  it("reads a room's count and a page of its history with typed parameters and responses", async () => {
    const room = uniqueRoom();
    await fill(room, 3);
    const count = await client.api.rooms[":room"].count.$get({ param: { room } });
    expect(await count.json()).toEqual({ room, count: 3 });
    const page = await client.api.rooms[":room"].messages.$get({ param: { room }, query: { limit: "2" } });
    const body = await page.json();
    expect(body.messages.map((message) => message.text)).toEqual(["m3", "m2"]);
    expect(body.next).toBe(2);
  });

  it("surfaces a refusal as a problem+json response", async () => {
    const response = await client.api.rooms[":room"].messages.$get({
      param: { room: uniqueRoom() },
      query: { limit: "1000" },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
  });

  it("sends a room token as a bearer header when the deployment has a CHAT_SECRET", async () => {
    const withSecret = { ...env, CHAT_SECRET: "client-test-secret" } as Env;
    const secured = chatClient("https://chat.example", {
      fetch: async (input, init) => worker.fetch(new Request(input, init), withSecret, createExecutionContext()),
    });
    const room = uniqueRoom();
    await fill(room, 2);
    expect((await secured.api.rooms[":room"].count.$get({ param: { room } })).status).toBe(401);
    const { token } = await issueToken("client-test-secret", room, "Reader");
    const count = await secured.api.rooms[":room"].count.$get(
      { param: { room } },
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(await count.json()).toEqual({ room, count: 2 });
  });
});
