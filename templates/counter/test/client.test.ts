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

  it("leaves the optional body of increment and decrement out (by defaults to 1), and types the rest", async () => {
    const name = uniqueName();
    const up = await client.api.counters[":name"].increment.$post({ param: { name } });
    expect(await up.json()).toEqual({ name, value: 1 });
    const down = await client.api.counters[":name"].decrement.$post({ param: { name } });
    expect(await down.json()).toEqual({ name, value: 0 });
    const sharded = await client.api["sharded-counters"][":name"].increment.$post({ param: { name } });
    expect(sharded.status).toBe(200);
    // What it refuses to send is checked at compile time: test/client-types.ts.
  });

  it("surfaces a refusal as a problem+json response", async () => {
    const response = await client.api.counters[":name"].$put({ param: { name: uniqueName() }, json: { value: 0.5 } });
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
  });
});
