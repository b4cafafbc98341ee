/**
 * What each operation costs in billed SQLite rows, measured by the shared Sql meter that every
 * statement of the room goes through (the alarm queue's included). These are exact numbers, so
 * they are asserted; the README quotes them.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { storageCost } from "../src/shared/testing";
import { describe, expect, it } from "vitest";
import type { ChatRoom } from "../src/chat-room-object";
import { api, fill, join, roomStub, say, setClock, uniqueRoom } from "./helpers";

const MINUTE = 60_000;

/** Runs `operation` and returns the statements, rows read and rows written of the room's object. */
const cost = (room: string, operation: () => Promise<unknown>) => storageCost(roomStub(room), operation);

describe("storage cost per operation", () => {
  it("a message is one INSERT ... RETURNING: one row written, one read, whoever is listening", async () => {
    const room = uniqueRoom();
    const members = await Promise.all(["Ada", "Grace", "Bob"].map((name) => join(room, { name })));
    const sender = members[0]!.client;
    await say(sender, "warm up");
    expect(await cost(room, () => say(sender, "hello"))).toEqual({ statements: 1, rowsRead: 1, rowsWritten: 1 });
  });

  it("a message costs no extra write for the idle timer", async () => {
    const room = uniqueRoom();
    const { client } = await join(room);
    // Ten messages, ten rows: nothing per message touches the purge task or the alarm.
    const measured = await cost(room, async () => {
      for (let i = 0; i < 10; i++) await say(client, `m${i}`);
    });
    expect(measured).toEqual({ statements: 10, rowsRead: 10, rowsWritten: 10 });
  });

  it("a message with a clientId looks it up first and writes its index entry: two rows written, one read", async () => {
    const room = uniqueRoom();
    const { client } = await join(room);
    await say(client, "warm up");
    const send = (clientId: string) => {
      client.send({ type: "message", text: "hello", clientId });
      return client.nextOf("message");
    };
    // The lookup finds nothing (no row read); the insert writes the row and its index entry.
    expect(await cost(room, () => send("c-1"))).toEqual({ statements: 2, rowsRead: 1, rowsWritten: 2 });
    // A resend is answered from the index: one row read, nothing written.
    expect(await cost(room, () => send("c-1"))).toEqual({ statements: 1, rowsRead: 1, rowsWritten: 0 });
  });

  it("an index on the messages table would double the rows written per message (why there is none)", async () => {
    const room = uniqueRoom();
    await join(room);
    const written = await runInDurableObject(roomStub(room), (instance: ChatRoom) => {
      instance.sql.run("CREATE TABLE indexed (id INTEGER PRIMARY KEY, text TEXT NOT NULL, at INTEGER NOT NULL)");
      instance.sql.run("CREATE INDEX indexed_at ON indexed (at)");
      return instance.sql.run("INSERT INTO indexed (text, at) VALUES ('hello', 1)").rowsWritten;
    });
    expect(written).toBe(2);
  });

  it("GET /count reads one row after a wake-up, and none while the room is awake", async () => {
    const room = uniqueRoom();
    await fill(room, 30);
    await evictDurableObject(roomStub(room));
    const count = () => api(`/api/rooms/${room}/count`);
    expect(await cost(room, count)).toEqual({ statements: 1, rowsRead: 1, rowsWritten: 0 });
    expect(await cost(room, count)).toEqual({ statements: 0, rowsRead: 0, rowsWritten: 0 });
    expect(await (await count()).json()).toEqual({ room, count: 30 });
  });

  it("a history page reads the rows it returns plus one (to know whether there is a next page)", async () => {
    const room = uniqueRoom();
    await fill(room, 30);
    const spent = await cost(room, () => api(`/api/rooms/${room}/messages?limit=10&before=25`));
    expect(spent).toEqual({ statements: 1, rowsRead: 11, rowsWritten: 0 });
  });

  it("joining reads the history it sends (at most 50 rows) and writes nothing", async () => {
    const room = uniqueRoom();
    await fill(room, 60);
    await join(room, { name: "Warm" }); // reads the room's epoch once; it is then cached
    const spent = await cost(room, () => join(room, { name: "Late" }));
    expect(spent).toEqual({ statements: 1, rowsRead: 50, rowsWritten: 0 });
  });

  it("resuming reads the missed messages plus one and writes nothing", async () => {
    const room = uniqueRoom();
    await fill(room, 60);
    await join(room, { name: "Warm" });
    const spent = await cost(room, () => join(room, { name: "Back", after: 55 }));
    expect(spent).toEqual({ statements: 1, rowsRead: 6, rowsWritten: 0 });
  });

  it("a refused frame reads and writes nothing", async () => {
    const room = uniqueRoom();
    const { client } = await join(room);
    client.send("{not json");
    expect(await cost(room, () => client.next())).toEqual({ statements: 0, rowsRead: 0, rowsWritten: 0 });
  });

  it("the last person leaving schedules the purge: three rows written (the task and the alarm state)", async () => {
    const room = uniqueRoom();
    const { client } = await join(room);
    expect(await cost(room, () => client.close())).toEqual({ statements: 4, rowsRead: 5, rowsWritten: 3 });
  });

  it("someone leaving while others stay writes nothing", async () => {
    const room = uniqueRoom();
    await join(room, { name: "Stays" });
    const { client } = await join(room, { name: "Leaves" });
    expect(await cost(room, () => client.close())).toEqual({ statements: 0, rowsRead: 0, rowsWritten: 0 });
  });

  it("the purge check on an idle room reads twelve rows and writes four, then deleteAll() removes everything", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    await setClock(room, start);
    const { client } = await join(room);
    await client.close();
    await setClock(room, start + 30 * MINUTE);
    // Besides the check itself (7 statements, 7 rows read, 2 written), the task moves 5 minutes
    // ahead before the delete, so that a deleteAll() that fails leaves it scheduled (3 statements,
    // 4 rows read, 2 written, like the re-arm below), and alarm() reads the newest message again
    // right before deleteAll() (1 statement, 1 row read).
    const spent = await cost(room, () => runDurableObjectAlarm(roomStub(room)));
    expect(spent).toEqual({ statements: 11, rowsRead: 12, rowsWritten: 4 });
    const tables = await runInDurableObject(roomStub(room), (_instance, state) =>
      state.storage.sql
        .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
        .toArray(),
    );
    expect(tables).toEqual([]);
  });

  it("the purge check on an occupied room re-arms itself: four rows written, every 30 minutes", async () => {
    const room = uniqueRoom();
    const start = Date.now();
    await setClock(room, start);
    const { client } = await join(room);
    // The room's purge task was set when it was created, 30 minutes after then.
    await setClock(room, start + 31 * MINUTE);
    // Rescheduling the task reads the queue's state row (for the next task id), even during a run
    // and when it replaces the task by key; the writes are the same.
    const spent = await cost(room, () => runDurableObjectAlarm(roomStub(room)));
    expect(spent).toEqual({ statements: 9, rowsRead: 10, rowsWritten: 4 });
    await client.close();
  });
});
