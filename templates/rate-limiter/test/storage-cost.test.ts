/**
 * What each operation costs in billed SQLite rows, measured by the shared Sql meter and asserted
 * exactly; the README quotes these numbers.
 *
 * A check reads each policy's row (a SELECT of a missing row reads 0) and, when admitted,
 * upserts it: the table is WITHOUT ROWID, so the upsert writes exactly the one row and reads
 * nothing more. Measured, not assumed (for comparison, the counter app measures 2 rows read for
 * its `UPDATE ... RETURNING`).
 */
import { describe, expect, it } from "vitest";
import { api, check, cost, json, uniqueKey } from "./helpers";

const gcra = { name: "g", algorithm: "gcra", limit: 100, period: 60 };
const sliding = { name: "s", algorithm: "sliding-window", limit: 100, period: 60 };
const fixed = { name: "f", algorithm: "fixed-window", limit: 100, period: 60 };

describe("storage cost per check", () => {
  for (const policy of [gcra, sliding, fixed]) {
    it(`a ${policy.algorithm} check reads one row and writes one`, async () => {
      const key = uniqueKey();
      await check({ key, policies: [policy] });
      const spent = await cost(key, () => check({ key, policies: [policy] }));
      expect(spent).toEqual({ statements: 2, rowsRead: 1, rowsWritten: 1 });
    });
  }

  it("a check of three policies reads three rows and writes three, in one statement each way", async () => {
    const key = uniqueKey();
    await check({ key, policies: [gcra, sliding, fixed] });
    const spent = await cost(key, () => check({ key, policies: [gcra, sliding, fixed] }));
    expect(spent).toEqual({ statements: 2, rowsRead: 3, rowsWritten: 3 });
  });

  it("a check of ten policies, the most one may name, reads its ten rows in one statement", async () => {
    // A UNION ALL of seeks (the read before) is refused by workerd's SQLite past 5 terms: 500s.
    const key = uniqueKey();
    const ten = Array.from({ length: 10 }, (_, i) => ({ ...fixed, name: `f${i}` }));
    expect((await check({ key, policies: ten })).status).toBe(200);
    const spent = await cost(key, () => check({ key, policies: ten }));
    expect(spent).toEqual({ statements: 2, rowsRead: 10, rowsWritten: 10 });
  });

  it("a refused check reads its rows and writes nothing", async () => {
    const key = uniqueKey();
    const one = { ...fixed, limit: 1 };
    await check({ key, policies: [gcra, one] });
    const spent = await cost(key, () => check({ key, policies: [gcra, one] }));
    expect(spent).toEqual({ statements: 1, rowsRead: 2, rowsWritten: 0 });
  });

  it("the first check of a key also schedules its purge (5 statements, 5 rows read, 5 written, once)", async () => {
    const key = uniqueKey();
    await api(`/api/keys/${key}`); // starts the object, so its one-time setup is not measured
    // The quota row (1), the queue's task with its two index entries (3) and the armed time (1),
    // written with the queue's next task id in the same state row. Inserting the task with that
    // explicit id reads one row more than letting SQLite pick it (the primary-key check). A key
    // without state has no quota table, so its row is not looked up: 5 statements, not 6. Its
    // tables are created by this write (migrations, like the queue's, are not metered).
    const spent = await cost(key, () => check({ key, policies: [gcra] }));
    expect(spent).toEqual({ statements: 5, rowsRead: 5, rowsWritten: 5 });
  });

  it("a peek reads the rows it shows and writes nothing", async () => {
    const key = uniqueKey();
    await check({ key, policies: [gcra, sliding, fixed] });
    expect(await cost(key, () => api(`/api/keys/${key}`))).toEqual({ statements: 1, rowsRead: 3, rowsWritten: 0 });
    const spent = await cost(key, () => api(`/api/keys/${key}?policies=api`));
    expect(spent).toEqual({ statements: 1, rowsRead: 0, rowsWritten: 0 });
  });

  it("a refund reads one row and writes one per policy", async () => {
    const key = uniqueKey();
    await check({ key, policies: [gcra] });
    const spent = await cost(key, () => api(`/api/keys/${key}/refund`, json("POST", { policies: [gcra] })));
    expect(spent).toEqual({ statements: 2, rowsRead: 1, rowsWritten: 1 });
  });

  it("a key without state costs nothing to read: a peek, a refund, a check of cost 0 and a reset", async () => {
    const key = uniqueKey();
    const none = { statements: 0, rowsRead: 0, rowsWritten: 0 };
    expect(await cost(key, () => api(`/api/keys/${key}`))).toEqual(none);
    expect(await cost(key, () => api(`/api/keys/${key}?policies=api,daily`))).toEqual(none);
    expect(await cost(key, () => api(`/api/keys/${key}/refund`, json("POST", { policies: [gcra] })))).toEqual(none);
    expect(await cost(key, () => check({ key, policies: [gcra], cost: 0 }))).toEqual(none);
    expect(await cost(key, () => api(`/api/keys/${key}`, { method: "DELETE" }))).toEqual(none);
  });
});
