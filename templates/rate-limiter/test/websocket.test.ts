/**
 * GET /api/keys/:key/websocket: watchers of a key get its quota on connect and after every
 * check, over a hibernatable WebSocket. Browsers cannot set headers on a WebSocket, so the token
 * may also come as `?token=` on this route only.
 */
import { describe, expect, it } from "vitest";
import { api, check, connect, uniqueKey } from "./helpers";

const policy = { name: "p", algorithm: "fixed-window", limit: 5, period: 3600 };

describe("quota WebSocket", () => {
  it("sends the quota on connect and after every check of the key, refused ones included", async () => {
    const key = uniqueKey();
    await check({ key, policies: [policy], cost: 3 });
    const watcher = await connect(key);
    expect(await watcher.next()).toMatchObject({ type: "quota", policies: [{ name: "p", remaining: 2 }] });
    await check({ key, policies: [policy], cost: 2 });
    expect(await watcher.next()).toMatchObject({ type: "quota", policies: [{ name: "p", remaining: 0 }] });
    await check({ key, policies: [policy] });
    expect(await watcher.next()).toMatchObject({
      type: "quota",
      policies: [{ name: "p", remaining: 0, retryAfter: expect.any(Number) }],
    });
  });

  it("tells watchers a reset key has no state left", async () => {
    const key = uniqueKey();
    await check({ key, policies: [policy] });
    const watcher = await connect(key);
    await watcher.next();
    await api(`/api/keys/${key}`, { method: "DELETE" });
    expect(await watcher.next()).toEqual({ type: "quota", policies: [] });
  });

  it("accepts the token as ?token= for browsers, and refuses a socket without a valid token", async () => {
    const key = uniqueKey();
    const browser = await connect(
      key,
      { headers: { authorization: "" } },
      `/api/keys/${key}/websocket?token=test-token`,
    );
    expect(await browser.next()).toEqual({ type: "quota", policies: [] });
    for (const path of [`/api/keys/${key}/websocket`, `/api/keys/${key}/websocket?token=wrong`]) {
      const response = await api(path, { headers: { authorization: "", upgrade: "websocket" } });
      expect(response.status).toBe(401);
    }
  });

  it("answers ping with pong and closes with 1003 when a watcher sends anything else", async () => {
    const key = uniqueKey();
    const watcher = await connect(key);
    await watcher.next();
    watcher.socket.send("ping");
    expect(await watcher.next()).toBe("pong");
    watcher.socket.send(JSON.stringify({ type: "check" }));
    expect((await watcher.closed).code).toBe(1003);
  });
});
