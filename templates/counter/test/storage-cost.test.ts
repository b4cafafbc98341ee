/**
 * What each operation costs in billed SQLite rows, measured by the shared Sql meter. These are
 * exact numbers, so they are asserted; the README quotes them.
 *
 * A change is `UPDATE ... RETURNING value`: 1 row written, 2 rows read (the runtime counts the
 * row the UPDATE visits and the row RETURNING hands back; a separate SELECT would cost the same
 * read and one more statement).
 */
import { env } from "cloudflare:workers";
import { storageCost } from "../src/shared/testing";
import { describe, expect, it } from "vitest";
import { api, connect, json, uniqueName } from "./helpers";

/** Runs `operation` and returns the rows the counter object read and wrote for it. */
const cost = (name: string, operation: () => Promise<unknown>) => storageCost(env.COUNTER.getByName(name), operation);

describe("storage cost per operation", () => {
  it("an increment is one statement that writes one row and reads two", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}/increment`, { method: "POST" });
    const spent = await cost(name, () => api(`/api/counters/${name}/increment`, { method: "POST" }));
    expect(spent).toEqual({ statements: 1, rowsRead: 2, rowsWritten: 1 });
  });

  it("the first increment of a new counter costs the same as any other", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`); // starts the object, so its one-time setup is not measured
    const spent = await cost(name, () => api(`/api/counters/${name}/increment`, { method: "POST" }));
    expect(spent).toEqual({ statements: 1, rowsRead: 2, rowsWritten: 1 });
  });

  it("a decrement, a set and a reset each write one row", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}/increment`, { method: "POST" });
    for (const operation of [
      () => api(`/api/counters/${name}/decrement`, json("POST", { by: 2 })),
      () => api(`/api/counters/${name}`, json("PUT", { value: 8 })),
      () => api(`/api/counters/${name}`, { method: "DELETE" }),
    ]) {
      expect(await cost(name, operation)).toEqual({ statements: 1, rowsRead: 2, rowsWritten: 1 });
    }
  });

  it("a read reads one row and writes none", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}/increment`, { method: "POST" });
    const spent = await cost(name, () => api(`/api/counters/${name}`));
    expect(spent).toEqual({ statements: 1, rowsRead: 1, rowsWritten: 0 });
  });

  it("an increment sent over the WebSocket writes one row, however many sockets watch", async () => {
    const name = uniqueName();
    const clients = await Promise.all(Array.from({ length: 5 }, () => connect(name)));
    await Promise.all(clients.map((client) => client.next()));
    const measured = await cost(name, async () => {
      clients[0]!.send({ type: "increment" });
      await Promise.all(clients.map((client) => client.next()));
    });
    expect(measured).toEqual({ statements: 1, rowsRead: 2, rowsWritten: 1 });
  });

  it("a change refused for leaving the range writes nothing", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`, json("PUT", { value: Number.MAX_SAFE_INTEGER }));
    const measured = await cost(name, () => api(`/api/counters/${name}/increment`, { method: "POST" }));
    // The refused UPDATE still reads 2 rows; a SELECT (1 read) fetches the unchanged value for
    // the error message.
    expect(measured).toEqual({ statements: 2, rowsRead: 3, rowsWritten: 0 });
  });

  it("bad input is refused by the Worker before the object is touched", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`);
    const spent = await cost(name, () => api(`/api/counters/${name}/increment`, json("POST", { by: "x" })));
    expect(spent).toEqual({ statements: 0, rowsRead: 0, rowsWritten: 0 });
  });
});
