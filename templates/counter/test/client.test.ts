/**
 * The typed client (src/client.ts) talks to the same routes with types checked at compile time.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { counterClient } from "../src/client";
import { uniqueName } from "./helpers";

const client = counterClient("https://counter.example", {
  fetch: (input, init) => exports.default.fetch(new Request(input, init)),
});

describe("typed client", () => {
  it("increments and reads a counter with typed parameters and responses", async () => {
    const name = uniqueName();
    const incremented = await client.api.counters[":name"].increment.$post({ param: { name }, json: { by: 3 } });
    expect(incremented.status).toBe(200);
    const read = await client.api.counters[":name"].$get({ param: { name } });
    const body = await read.json();
    expect(body).toEqual({ name, value: 3 });
  });

  it("surfaces a refusal as a problem+json response", async () => {
    const response = await client.api.counters[":name"].$put({ param: { name: uniqueName() }, json: { value: 0.5 } });
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
  });
});
