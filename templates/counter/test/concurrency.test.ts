/**
 * Each change is one SQL statement in a single-threaded object: concurrent requests cannot
 * interleave, so no increment is ever lost.
 */
import { describe, expect, it } from "vitest";
import { api, connect, json, uniqueName } from "./helpers";

describe("concurrent changes", () => {
  it("counts 1,000 concurrent increments exactly", async () => {
    const name = uniqueName();
    const responses = await Promise.all(
      Array.from({ length: 1000 }, () => api(`/api/counters/${name}/increment`, { method: "POST" })),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    const values = await Promise.all(responses.map(async (r) => ((await r.json()) as { value: number }).value));
    // Every request saw a distinct value: each change was applied alone, in some order.
    expect(new Set(values).size).toBe(1000);
    expect(Math.max(...values)).toBe(1000);
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 1000 });
  });

  it("balances 500 increments and 500 decrements sent at once to exactly 0", async () => {
    const name = uniqueName();
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        api(`/api/counters/${name}/${i % 2 ? "increment" : "decrement"}`, json("POST", { by: 7 })),
      ),
    );
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 0 });
  });

  it("applies increments from HTTP and WebSocket clients together without loss", async () => {
    const name = uniqueName();
    const client = await connect(name);
    await client.next();
    for (let i = 0; i < 200; i++) client.send({ type: "increment" });
    await Promise.all(Array.from({ length: 200 }, () => api(`/api/counters/${name}/increment`, { method: "POST" })));
    // The socket sees one value message per change; the last one it sees is the total.
    let last = 0;
    for (let i = 0; i < 400; i++) last = ((await client.next()) as { value: number }).value;
    expect(last).toBe(400);
  });
});
