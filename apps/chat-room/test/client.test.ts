/**
 * The typed client (src/client.ts) talks to the same routes with types checked at compile time.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { chatClient } from "../src/client";
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
});
