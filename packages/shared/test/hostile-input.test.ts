/**
 * The platform's moves of a property's sequence (src/hostile-input.ts): an eviction or an abort
 * ends the object's instance, its storage stays, and evicting an object that is not running is no
 * failure.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { evict, platformMove } from "../src/hostile-input";
import { uniqueName } from "../src/testing";

/** The object of `name`; a fresh stub each time, as a Worker gets one per request. */
const fixture = (name: string) => env.STORAGE_FIXTURE.getByName(name);

describe("evict and platformMove", () => {
  it("evict ends the instance (its in-memory meter starts over) and keeps the storage; a second evict finds nothing to evict", async () => {
    const name = uniqueName("evicted");
    await fixture(name).exec("CREATE TABLE kept (x INTEGER)");
    expect((await fixture(name).meter()).statements).toBeGreaterThan(0);
    await evict(fixture(name));
    await evict(fixture(name));
    expect(await fixture(name).meter()).toEqual({ statements: 0, rowsRead: 0, rowsWritten: 0 });
    expect(await fixture(name).hasTable("kept")).toBe(true);
  });

  it("platformMove evicts or aborts as drawn, counting each in its figure", async () => {
    const name = uniqueName("moved");
    const figures = { evictions: 0, aborts: 0 };
    await fixture(name).exec("CREATE TABLE kept (x INTEGER)");
    await platformMove("evict", fixture(name), figures);
    await fixture(name).exec("SELECT 1");
    await platformMove("abort", fixture(name), figures);
    expect(figures).toEqual({ evictions: 1, aborts: 1 });
    expect(await fixture(name).meter()).toEqual({ statements: 0, rowsRead: 0, rowsWritten: 0 });
    expect(await fixture(name).hasTable("kept")).toBe(true);
  });
});
