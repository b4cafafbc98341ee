/**
 * The index at scale: 1,000,000 entries inserted straight into one WorkflowIndex object's SQLite
 * (as a year of ~2,700 instances a day would leave them), then pages read through its RPC methods.
 * A page reads its own rows whatever the size of the index; the times are this machine's, printed.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { WorkflowIndex } from "../src/workflow-index-object";
import { indexStub } from "./helpers";

const ENTRIES = 1_000_000;
const STATUSES = ["queued", "running", "paused", "waiting", "errored", "terminated", "complete"];

describe("the index at 1,000,000 entries", () => {
  it("reads a page of 50 for 51 rows, first, deep or by status, in milliseconds", async () => {
    const index = indexStub("scale-test");
    const inserted = await runInDurableObject(index, (object: WorkflowIndex, state) => {
      const started = Date.now();
      // One statement: a recursive CTE makes the rows inside SQLite (no million RPCs). Every
      // 7th entry is in each status; creation times one per 30 s, ids unique.
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO entries (id, incarnation, status, created_at, updated_at, version)
         SELECT printf('i-%07d', i), 'x', CASE i % 7 ${STATUSES.map((s, k) => `WHEN ${k} THEN '${s}'`).join(" ")} END,
                1700000000000 + i * 30000, 1700000000000 + i * 30000, 1 FROM n`,
        ENTRIES - 1,
      );
      return {
        ms: Date.now() - started,
        rows: object.sql.one<{ n: number }>("SELECT count(*) AS n FROM entries")!.n,
        bytes: state.storage.sql.databaseSize,
      };
    });
    expect(inserted.rows).toBe(ENTRIES);
    const timed = async (options: Parameters<WorkflowIndex["page"]>[0]) =>
      runInDurableObject(index, (object: WorkflowIndex) => {
        const before = { ...object.sql.meter };
        const started = performance.now();
        const rows = object.page(options);
        return {
          ms: performance.now() - started,
          rows: rows.length,
          rowsRead: object.sql.meter.rowsRead - before.rowsRead,
          first: rows[0]?.id,
        };
      });
    const first = await timed({ limit: 50 });
    const deep = await timed({ limit: 50, cursor: { createdAt: 1700000000000 + 500_000 * 30000, id: "i-0500000" } });
    const byStatus = await timed({ limit: 50, status: "errored" });
    const deepByStatus = await timed({
      limit: 50,
      status: "errored",
      cursor: { createdAt: 1700000000000 + 500_007 * 30000, id: "i-0500007" }, // an errored entry, as a page ends
    });
    // A page reads the 51 rows it returns (50 and one to know a next page exists); after a cursor,
    // one more: the seek lands on the cursor's own entry first.
    expect([first, deep, byStatus, deepByStatus].map((page) => [page.rows, page.rowsRead])).toEqual([
      [51, 51],
      [51, 52],
      [51, 51],
      [51, 52],
    ]);
    expect(first.first).toBe("i-0999999");
    expect(deep.first).toBe("i-0499999");
    expect(byStatus.first).toBe("i-0999996"); // 999996 % 7 === 4: errored
    // Latency as a caller sees it: the RPC to the index object and the page, timed from this isolate
    // over 200 calls in a row (a Worker's clock moves only across I/O, by whole milliseconds, so one
    // call cannot be timed alone), beside the same page of an empty index.
    const empty = indexStub("scale-test-empty");
    const perCall = async (call: () => Promise<unknown>) => {
      const started = performance.now();
      for (let i = 0; i < 200; i++) await call();
      return (performance.now() - started) / 200;
    };
    const latency = {
      emptyFirst: await perCall(() => empty.page({ limit: 50 })),
      first: await perCall(() => index.page({ limit: 50 })),
      deep: await perCall(() =>
        index.page({ limit: 50, cursor: { createdAt: 1700000000000 + 500_000 * 30000, id: "i-0500000" } }),
      ),
      byStatus: await perCall(() => index.page({ limit: 50, status: "errored" })),
      first100: await perCall(() => index.page({ limit: 100 })),
      counts: await perCall(() => index.counts()),
    };
    // Updates one index object absorbs, one RPC after another from this isolate (the runners' alarm
    // tasks would send them concurrently): 1,000 new entries, then a status change of each.
    const update = (i: number, status: "queued" | "complete", version: number) => ({
      id: `u-${i}`,
      incarnation: "x",
      status,
      createdAt: 1800000000000 + i,
      updatedAt: 1800000000000 + i,
      version,
    });
    let started = performance.now();
    for (let i = 0; i < 1_000; i++) await index.apply(update(i, "queued", 1));
    const insertMs = (performance.now() - started) / 1_000;
    started = performance.now();
    for (let i = 0; i < 1_000; i++) await index.apply(update(i, "complete", 2));
    const changeMs = (performance.now() - started) / 1_000;
    // The rows inserted straight into SQLite are not in the counts table; the applied ones are.
    expect((await index.counts()).complete).toBe(1_000);
    console.log(
      JSON.stringify({
        indexScale: {
          entries: ENTRIES,
          insertWallMs: inserted.ms,
          databaseBytes: inserted.bytes,
          msPerCall: { ...latency, newEntry: insertMs, change: changeMs },
        },
      }),
    );
  }, 300_000);
});
