/**
 * Reconnecting without losing anything: a client that comes back with the last id it saw
 * (`?after=<id>&epoch=<epoch>`) gets exactly the messages it missed in its welcome.
 */
import { describe, expect, it } from "vitest";
import { fill, join, say, uniqueRoom } from "./helpers";

describe("resuming with ?after=<last id>", () => {
  it("sends exactly the messages posted while the client was away", async () => {
    const room = uniqueRoom();
    const ada = await join(room, { name: "Ada" });
    const seen = await say(ada.client, "before the drop");
    await ada.client.close();
    const grace = await join(room, { name: "Grace" });
    for (const text of ["missed 1", "missed 2", "missed 3"]) await say(grace.client, text);

    const back = await join(room, { name: "Ada", after: seen.id, epoch: ada.welcome.epoch });
    expect(back.welcome.history.map((m) => [m.id, m.text])).toEqual([
      [2, "missed 1"],
      [3, "missed 2"],
      [4, "missed 3"],
    ]);
    expect(back.welcome).toMatchObject({ truncated: false, reset: false });
  });

  it("sends nothing when nothing was missed", async () => {
    const room = uniqueRoom();
    const ada = await join(room);
    const last = await say(ada.client, "last one");
    const back = await join(room, { name: "Ada", after: last.id, epoch: ada.welcome.epoch });
    expect(back.welcome.history).toEqual([]);
  });

  it("resumes even from more than 50 messages back (the cap is 1,000)", async () => {
    const room = uniqueRoom();
    await fill(room, 120);
    const { welcome } = await join(room, { name: "Ada", after: 5 });
    expect(welcome.history.map((m) => m.id)).toEqual(Array.from({ length: 115 }, (_, i) => i + 6));
    expect(welcome.truncated).toBe(false);
  });

  it("sends the newest 1,000 and truncated: true when more were missed, so the client pages back for the gap", async () => {
    const room = uniqueRoom();
    await fill(room, 1_003);
    const { welcome } = await join(room, { name: "Ada", after: 1 });
    expect(welcome.history).toHaveLength(1_000);
    expect(welcome.history[0]!.id).toBe(4);
    expect(welcome.history.at(-1)!.id).toBe(1_003);
    expect(welcome.truncated).toBe(true);
  });

  it("caps a resume at 512 KiB as well, so long messages never make one giant frame", async () => {
    const room = uniqueRoom();
    // 100 messages of 2,000 three-byte characters: about 600 KB of history.
    await fill(room, 100, "Ada", (i) => `${"€".repeat(1_995)}${i}`.slice(-2_000));
    const { welcome } = await join(room, { name: "Ada", after: 0 });
    expect(welcome.truncated).toBe(true);
    expect(welcome.history.at(-1)!.id).toBe(100);
    const bytes = new TextEncoder().encode(JSON.stringify(welcome.history)).byteLength;
    expect(bytes).toBeLessThanOrEqual(512 * 1024);
    expect(bytes).toBeGreaterThan(512 * 1024 - 7_000); // as many as fit, not fewer
  });

  it("with an epoch from before a purge, sends recent history and reset: true instead of resuming", async () => {
    const room = uniqueRoom();
    const { client } = await join(room);
    await say(client, "new life of the room");
    // An epoch the room never had: what a client sees after the room was purged and started over.
    const { welcome } = await join(room, { name: "Ada", after: 40, epoch: "0123456789abcdef" });
    expect(welcome.reset).toBe(true);
    expect(welcome.history.map((m) => m.text)).toEqual(["new life of the room"]);
  });
});
