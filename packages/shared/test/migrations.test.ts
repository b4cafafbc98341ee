/**
 * migrate(): ordered SQL steps applied once each, recorded in `_migrations`, cheap to re-run in
 * every constructor, and refusing to run against a history the code no longer matches.
 *
 * The fixture exposes migrate() over RPC; an app calls it in its constructor, where a throw
 * stops the object from serving anything until the code is fixed. Calls that are expected to
 * throw run inside the object with runInDurableObject: the error keeps its class there, and a
 * rejected RPC call leaks an unhandled rejection in the test pool (workers-sdk issue 14736).
 */
import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MigrationError, type Migration } from "../src";

let sequence = 0;
/** A fresh object per test, so no test sees another's history. */
function freshObject() {
  return env.STORAGE_FIXTURE.getByName(`migrations-${Date.now().toString(36)}-${sequence++}`);
}

const createNotes: Migration = {
  name: "create notes",
  sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
};
const seedNotes: Migration = {
  name: "seed notes",
  sql: "INSERT INTO notes (body) VALUES ('first'); INSERT INTO notes (body) VALUES ('second')",
};
const addAuthor: Migration = {
  name: "add author",
  sql: "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'anonymous'",
};

describe("applying steps", () => {
  it("applies every step in order once and records each one", async () => {
    const object = freshObject();
    const report = await object.migrate([createNotes, seedNotes]);
    expect(report).toMatchObject({ applied: ["create notes", "seed notes"], total: 2 });

    const notes = await object.exec("SELECT id, body FROM notes ORDER BY id");
    expect(notes.rows).toEqual([
      { id: 1, body: "first" },
      { id: 2, body: "second" },
    ]);
    const history = await object.exec("SELECT id, name FROM _migrations ORDER BY id");
    expect(history.rows).toEqual([
      { id: 1, name: "create notes" },
      { id: 2, name: "seed notes" },
    ]);
  });

  it("applies nothing when run again, and only reads one history row per step", async () => {
    const object = freshObject();
    await object.migrate([createNotes, seedNotes]);

    // This is the cost every constructor pays once the object is up to date.
    const again = await object.migrate([createNotes, seedNotes]);
    expect(again).toEqual({ applied: [], total: 2, rowsRead: 2, rowsWritten: 0 });
    expect((await object.exec("SELECT count(*) AS n FROM notes")).rows).toEqual([{ n: 2 }]);
  });

  it("applies only a step added to the end of the list", async () => {
    const object = freshObject();
    await object.migrate([createNotes, seedNotes]);

    const report = await object.migrate([createNotes, seedNotes, addAuthor]);
    expect(report).toMatchObject({ applied: ["add author"], total: 3 });
    expect((await object.exec("SELECT body, author FROM notes WHERE id = 1")).rows).toEqual([
      { body: "first", author: "anonymous" },
    ]);
    // The seed did not run twice.
    expect((await object.exec("SELECT count(*) AS n FROM notes")).rows).toEqual([{ n: 2 }]);
  });

  it("keeps its history across eviction, so a restarted object applies nothing", async () => {
    const object = freshObject();
    await object.migrate([createNotes, seedNotes]);

    await evictDurableObject(object);

    expect(await object.migrate([createNotes, seedNotes])).toMatchObject({ applied: [], total: 2 });
    expect((await object.exec("SELECT count(*) AS n FROM notes")).rows).toEqual([{ n: 2 }]);
  });
});

describe("a history that does not match the code", () => {
  it("refuses to start when a step was edited after it ran, naming the step", async () => {
    const object = freshObject();
    await object.migrate([createNotes, seedNotes]);
    const edited = { name: "seed notes", sql: "INSERT INTO notes (body) VALUES ('changed')" };

    await runInDurableObject(object, (instance) => {
      expect(() => instance.migrate([createNotes, edited])).toThrow(MigrationError);
      expect(() => instance.migrate([createNotes, edited])).toThrow(/Migration 2 \("seed notes"\)/);
    });
    // Nothing was applied: the data is what the original steps produced.
    expect((await object.exec("SELECT body FROM notes ORDER BY id")).rows).toEqual([
      { body: "first" },
      { body: "second" },
    ]);
  });

  it("refuses to start when an applied step was removed from the list", async () => {
    const object = freshObject();
    await object.migrate([createNotes, seedNotes]);

    await runInDurableObject(object, (instance) => {
      expect(() => instance.migrate([createNotes])).toThrow(MigrationError);
      expect(() => instance.migrate([createNotes])).toThrow(/"seed notes" was removed/);
    });
  });

  it("refuses to start when two applied steps swap places", async () => {
    const object = freshObject();
    await object.migrate([createNotes, addAuthor]);
    const reordered = [addAuthor, createNotes];

    await runInDurableObject(object, (instance) => {
      expect(() => instance.migrate(reordered)).toThrow(/Migration 1 \("add author"\).*"create notes"/);
    });
  });

  it("does not count re-indenting a step as an edit", async () => {
    const object = freshObject();
    await object.migrate([createNotes]);
    const reindented = {
      name: "create notes",
      sql: `
        CREATE TABLE notes (
          id INTEGER PRIMARY KEY,
          body TEXT NOT NULL
        )`,
    };
    const withoutSpaces = {
      name: "create notes",
      sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
    };

    expect(await object.migrate([reindented])).toMatchObject({ applied: [], total: 1 });
    expect(await object.migrate([withoutSpaces])).toMatchObject({ applied: [], total: 1 });
  });

  it("does count changing one token as an edit", async () => {
    const object = freshObject();
    await object.migrate([createNotes]);
    const changed = { name: "create notes", sql: createNotes.sql.replace("NOT NULL", "NULL") };

    await runInDurableObject(object, (instance) => {
      expect(() => instance.migrate([changed])).toThrow(/edited or reordered/);
    });
  });
});

describe("separate histories", () => {
  it("keeps a library's steps in its own history table, apart from the app's", async () => {
    const object = freshObject();
    const libraryStep = { name: "create jobs", sql: "CREATE TABLE jobs (id INTEGER PRIMARY KEY)" };
    await object.migrate([createNotes, seedNotes]);

    // Step 1 of the library's list is not step 1 of the app's, so neither looks edited.
    expect(await object.migrate([libraryStep], { table: "_library_migrations" })).toMatchObject({
      applied: ["create jobs"],
      total: 1,
    });
    expect(await object.migrate([createNotes, seedNotes])).toMatchObject({ applied: [], total: 2 });
    expect((await object.exec("SELECT name FROM _library_migrations")).rows).toEqual([{ name: "create jobs" }]);
  });

  it("refuses a history table name that is not a plain identifier", async () => {
    const object = freshObject();
    await runInDurableObject(object, (instance) => {
      expect(() => instance.migrate([createNotes], { table: "x; DROP TABLE notes" })).toThrow(MigrationError);
    });
  });
});

describe("a failing step", () => {
  // The second statement of this step fails until a table it copies from exists.
  const fillArchive: Migration = {
    name: "fill archive",
    sql: "CREATE TABLE archive (id INTEGER PRIMARY KEY); INSERT INTO archive SELECT id FROM archive_source",
  };

  it("rolls the whole step back and does not record it", async () => {
    const object = freshObject();
    await runInDurableObject(object, (instance) => {
      expect(() => instance.migrate([createNotes, fillArchive])).toThrow(/no such table: archive_source/);
    });

    // The step before it stays applied; nothing of the failing step remains.
    const history = await object.exec("SELECT name FROM _migrations ORDER BY id");
    expect(history.rows).toEqual([{ name: "create notes" }]);
    const tables = await object.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'archive'");
    expect(tables.rows).toEqual([]);
  });

  it("is retried by the next call and applied once it can succeed", async () => {
    const object = freshObject();
    await runInDurableObject(object, (instance) => {
      expect(() => instance.migrate([createNotes, fillArchive])).toThrow(/archive_source/);
      expect(() => instance.migrate([createNotes, fillArchive])).toThrow(/archive_source/);
    });

    await object.exec("CREATE TABLE archive_source (id INTEGER)");
    await object.exec("INSERT INTO archive_source (id) VALUES (1)");
    expect(await object.migrate([createNotes, fillArchive])).toMatchObject({ applied: ["fill archive"], total: 2 });
    expect((await object.exec("SELECT id FROM archive")).rows).toEqual([{ id: 1 }]);
  });
});
