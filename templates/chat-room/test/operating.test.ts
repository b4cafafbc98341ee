/**
 * Operating the chat room in production: the structured log lines (one per request, one per room
 * operation with its rows, one per alarm run), the optional Analytics Engine points, and
 * `GET /api/health`. See "Operating it" in the README.
 *
 * The Worker and its objects run in the same isolate here, so one `vi.spyOn(console, ...)` sees the
 * lines of both, in the order they were written.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import {
  expectHealthy,
  type LoggedLine,
  logLinesOf,
  metricPointsOf,
  operationLine,
  requestLine,
  socketClient,
  succeededRunLine,
} from "../src/shared/testing";
import { describe, expect, it, vi } from "vitest";
import { version } from "../package.json";
import { IDLE_PURGE_MS } from "../src/protocol";
import {
  api,
  callWithTokens,
  join,
  joinRoomWithClock,
  roomStub,
  say,
  setClock,
  TOKEN_SECRETS,
  uniqueRoom,
} from "./helpers";

/** What each line is about: its op (object lines) or its method and route (request lines). */
const topics = (lines: readonly LoggedLine[]) =>
  lines.map(({ line }) => (line.op as string | undefined) ?? `${String(line.method)} ${String(line.route)}`);

// Tokens on: the Worker is called with the secrets added to its env (as test/tokens.test.ts does),
// so the lines can be checked for the token, the issuer's credential and the secret.
const { CHAT_SECRET: SECRET, CHAT_ISSUER_SECRET: ISSUER } = TOKEN_SECRETS;
const call = callWithTokens;

describe("log lines", () => {
  it("writes a join, a stored message and a leave as operation lines, without the text, the name or the token", async () => {
    const room = uniqueRoom();
    const text = "my PIN is 4711, don't tell anyone";
    let token = "";
    const lines = await logLinesOf(async (sofar) => {
      const issued = await call(`/api/rooms/${room}/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${ISSUER}` },
        body: JSON.stringify({ name: "Zelda" }),
      });
      ({ token } = await issued.json<{ token: string }>());
      const client = await socketClient(
        await call(`/api/rooms/${room}/websocket?name=Zelda&token=${token}`, { headers: { upgrade: "websocket" } }),
      );
      client.send({ type: "message", text });
      for (;;) if (((await client.next()) as { type: string }).type === "message") break;
      client.socket.close(1000, "bye");
      await client.closed;
      await vi.waitFor(() => expect(topics(sofar)).toContain("leave"));
    });

    expect(topics(lines)).toEqual([
      "POST /api/rooms/:room/tokens",
      "join",
      "GET /api/rooms/:room/websocket",
      "message",
      "leave",
    ]);
    expect(lines[1]).toEqual(operationLine("chat-room", { op: "join", object: room, rowsWritten: 0 }));
    expect(lines[2]).toEqual(
      requestLine("chat-room", { method: "GET", route: "/api/rooms/:room/websocket", object: room, status: 101 }),
    );
    // One row written: the message (no clientId, so no index entry). test/storage-cost.test.ts
    // asserts each operation's rows exactly; here they only have to be there.
    expect(lines[3]).toEqual(operationLine("chat-room", { op: "message", object: room, rowsWritten: 1 }));
    expect(lines[4]!.line).toMatchObject({ op: "leave", object: room, outcome: "ok" });

    const logged = JSON.stringify(lines);
    for (const never of [text, "4711", "Zelda", token, SECRET, ISSUER]) expect(logged).not.toContain(never);
  });

  it("logs a refused request (422) as a warning without its body, and touches no room", async () => {
    const room = uniqueRoom();
    let response!: Response;
    const lines = await logLinesOf(async () => {
      response = await api(`/api/rooms/${room}/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"nom":"Zelda"}',
      });
    });
    expect(response.status).toBe(422);
    expect(lines).toEqual([
      requestLine("chat-room", { method: "POST", route: "/api/rooms/:room/tokens", object: room, status: 422 }),
    ]);
    expect(JSON.stringify(lines)).not.toContain("Zelda");
  });

  it("logs the idle purge's alarm run with the queue's report, then the purge itself", async () => {
    const { room, start, client } = await joinRoomWithClock();
    await client.close();
    await setClock(room, start + IDLE_PURGE_MS);

    // The alarm is fired by hand: waiting 30 real minutes is no option in a test.
    const lines = await logLinesOf(async () => expect(await runDurableObjectAlarm(roomStub(room))).toBe(true));
    expect(lines).toEqual([
      succeededRunLine("chat-room", room),
      {
        console: "log",
        line: expect.objectContaining({ message: "operation", op: "purge", object: room, outcome: "ok" }),
      },
    ]);
  });
});

describe("GET /api/health", () => {
  it("answers the app and its package.json version without creating or waking any room", () =>
    expectHealthy(() => api("/api/health"), env.CHAT_ROOM, "chat-room", version));
});

describe("metrics (with a METRICS dataset bound)", () => {
  it("writes a point per connection opened and closed and per message stored (its size, never its text)", async () => {
    const room = uniqueRoom();
    const points = await metricPointsOf(roomStub(room), async (written) => {
      const { client } = await join(room);
      await say(client, "héllo"); // 6 bytes in UTF-8
      // A resend of a stored message stores nothing: no point.
      client.send({ type: "message", text: "once", clientId: "c-1" });
      await client.nextOf("message");
      client.send({ type: "message", text: "once", clientId: "c-1" });
      await client.nextOf("message");
      await client.close();
      // The close point is written after the server has answered the close: wait for it.
      await vi.waitFor(() => expect(written).toHaveLength(4));
    });
    expect(points).toEqual([
      { indexes: ["chat-room:connection"], blobs: ["open"], doubles: [] },
      { indexes: ["chat-room:message"], blobs: [], doubles: [6] },
      { indexes: ["chat-room:message"], blobs: [], doubles: [4] },
      { indexes: ["chat-room:connection"], blobs: ["close"], doubles: [] },
    ]);
  });

  it("writes the idle purge's alarm run as a chat-room:alarm point", async () => {
    const { room, start, client } = await joinRoomWithClock();
    await client.close();
    await setClock(room, start + IDLE_PURGE_MS);
    const points = await metricPointsOf(roomStub(room), () => runDurableObjectAlarm(roomStub(room)));
    // ran, succeeded, failed, dead-lettered, the platform's retry count, ms
    expect(points).toEqual([
      { indexes: ["chat-room:alarm"], blobs: ["ok"], doubles: [1, 1, 0, 0, 0, expect.any(Number)] },
    ]);
  });
});
