/**
 * Sql: typed rows from `ctx.storage.sql` plus the rows read and written of every statement, the
 * two numbers Durable Object storage bills. These tests pin the cost of common statements so an
 * app's README can state its cost per operation and its tests can assert it exactly.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";

let sequence = 0;
/** A fresh object per test: its meter starts at zero and its tables are empty. */
async function objectWithNotes() {
  const object = env.STORAGE_FIXTURE.getByName(`sql-${Date.now().toString(36)}-${sequence++}`);
  await object.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  return object;
}

describe("the cost of one statement", () => {
  it("counts one row written per inserted row, and no row read", async () => {
    const object = await objectWithNotes();
    const insert = await object.exec("INSERT INTO notes (body) VALUES (?), (?), (?)", "one", "two", "three");
    expect(insert).toEqual({ rows: [], rowsRead: 0, rowsWritten: 3 });
  });

  it("returns rows from RETURNING, which the runtime also counts as rows read", async () => {
    const object = await objectWithNotes();
    // As measured on this runtime: 1 read for one returned row, 6 for three.
    const one = await object.exec("INSERT INTO notes (body) VALUES (?) RETURNING id, body", "one");
    expect(one).toEqual({ rows: [{ id: 1, body: "one" }], rowsRead: 1, rowsWritten: 1 });
    const three = await object.exec("INSERT INTO notes (body) VALUES ('a'), ('b'), ('c') RETURNING id");
    expect(three).toEqual({ rows: [{ id: 2 }, { id: 3 }, { id: 4 }], rowsRead: 6, rowsWritten: 3 });
  });

  it("reads one row to select one row by primary key", async () => {
    const object = await objectWithNotes();
    await object.exec("INSERT INTO notes (body) VALUES ('one'), ('two'), ('three')");
    expect(await object.exec("SELECT body FROM notes WHERE id = ?", 2)).toEqual({
      rows: [{ body: "two" }],
      rowsRead: 1,
      rowsWritten: 0,
    });
  });

  it("reads every row of the table for a full scan, even to count them", async () => {
    const object = await objectWithNotes();
    await object.exec(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) INSERT INTO notes (body) SELECT 'note ' || i FROM n",
    );
    const scan = await object.exec("SELECT count(*) AS n FROM notes WHERE body LIKE '%7'");
    expect(scan).toEqual({ rows: [{ n: 5 }], rowsRead: 50, rowsWritten: 0 });
  });

  it("reads and writes one row to update one row by primary key", async () => {
    const object = await objectWithNotes();
    await object.exec("INSERT INTO notes (body) VALUES ('one'), ('two')");
    expect(await object.exec("UPDATE notes SET body = ? WHERE id = ?", "uno", 1)).toEqual({
      rows: [],
      rowsRead: 1,
      rowsWritten: 1,
    });
  });

  it("writes each row once more for every index on the table", async () => {
    const object = await objectWithNotes();
    await object.exec("CREATE INDEX notes_by_body ON notes (body)");
    const insert = await object.exec("INSERT INTO notes (body) VALUES ('one'), ('two')");
    expect(insert.rowsWritten).toBe(4);
  });

  it("reports only the last statement when one call holds several", async () => {
    const object = await objectWithNotes();
    // Two rows are written, but the runtime's cursor describes only the second statement:
    // meter one statement per call when the numbers matter.
    const both = await object.exec("INSERT INTO notes (body) VALUES ('one'); INSERT INTO notes (body) VALUES ('two')");
    expect(both.rowsWritten).toBe(1);
    expect((await object.exec("SELECT count(*) AS n FROM notes")).rows).toEqual([{ n: 2 }]);
  });
});

describe("asking whether a table exists", () => {
  it("answers true and false with a statement that reads no row", async () => {
    const object = await objectWithNotes();
    const before = await object.meter();
    expect([await object.hasTable("notes"), await object.hasTable("missing")]).toEqual([true, false]);
    const after = await object.meter();
    // The probe of a missing table fails in the runtime before it is a statement the meter sees.
    expect({ statements: after.statements - before.statements, rowsRead: after.rowsRead - before.rowsRead }).toEqual({
      statements: 1,
      rowsRead: 0,
    });
  });

  it("refuses a name that is not a plain identifier", async () => {
    const object = await objectWithNotes();
    const error = await object.hasTable("notes; DROP TABLE notes").catch((thrown: unknown) => thrown);
    expect(String(error)).toContain('"notes; DROP TABLE notes" is not a table name.');
    expect(await object.hasTable("notes")).toBe(true);
  });
});

describe("the meter", () => {
  it("adds up the statements and rows of every call since the object started", async () => {
    const object = await objectWithNotes();
    await object.exec("INSERT INTO notes (body) VALUES ('one'), ('two'), ('three')");
    await object.exec("SELECT body FROM notes WHERE id = 1");
    await object.exec("SELECT body FROM notes");

    // The CREATE TABLE in objectWithNotes is metered too: it writes the schema row (and reads 1).
    const create = { rowsRead: 1, rowsWritten: 2 };
    expect(await object.meter()).toEqual({
      statements: 4,
      rowsRead: create.rowsRead + 0 + 1 + 3,
      rowsWritten: create.rowsWritten + 3,
    });
  });

  it("measures what a block of statements costs", async () => {
    const object = await objectWithNotes();
    await object.exec("INSERT INTO notes (body) VALUES ('one'), ('two'), ('three')");

    const measured = await runInDurableObject(object, (instance) =>
      instance.sql.measure(() => {
        instance.sql.run("UPDATE notes SET body = 'uno' WHERE id = 1");
        return instance.sql.one<{ body: string }>("SELECT body FROM notes WHERE id = 1");
      }),
    );
    expect(measured).toEqual({ result: { body: "uno" }, cost: { statements: 2, rowsRead: 2, rowsWritten: 1 } });
  });
});

describe("reading rows", () => {
  it("returns null from one() and [] from all() when nothing matches", async () => {
    const object = await objectWithNotes();
    await runInDurableObject(object, (instance) => {
      expect(instance.sql.one("SELECT body FROM notes WHERE id = 42")).toBeNull();
      expect(instance.sql.all("SELECT body FROM notes")).toEqual([]);
    });
  });
});

describe("transactions", () => {
  it("commits every write of the block together", async () => {
    const object = await objectWithNotes();
    await runInDurableObject(object, (instance) =>
      instance.sql.transaction(() => {
        instance.sql.run("INSERT INTO notes (body) VALUES ('one')");
        instance.sql.run("INSERT INTO notes (body) VALUES ('two')");
      }),
    );
    expect((await object.exec("SELECT body FROM notes ORDER BY id")).rows).toEqual([{ body: "one" }, { body: "two" }]);
  });

  it("rolls back every write of the block when it throws", async () => {
    const object = await objectWithNotes();
    await object.exec("INSERT INTO notes (body) VALUES ('kept')");

    await runInDurableObject(object, (instance) => {
      expect(() =>
        instance.sql.transaction(() => {
          instance.sql.run("INSERT INTO notes (body) VALUES ('lost')");
          instance.sql.run("UPDATE notes SET body = 'changed' WHERE id = 1");
          throw new Error("the block gave up");
        }),
      ).toThrow("the block gave up");
    });
    expect((await object.exec("SELECT id, body FROM notes ORDER BY id")).rows).toEqual([{ id: 1, body: "kept" }]);
  });
});
