/**
 * Steps started together (`Promise.all`) take positions in call order, so replays stay
 * deterministic, and both results are cached.
 */
import { describe, expect, it } from "vitest";
import { T0, instance, run, runAt, start } from "./helpers";
import { count } from "./workflows";

describe("parallel steps", () => {
  it("runs steps started with Promise.all once each and replays both", async () => {
    const id = await start("test-parallel");
    await run(id);
    expect((await instance(id)).steps.map((s) => [s.position, s.key, s.status])).toEqual([
      [0, "left#1", "complete"],
      [1, "right#1", "complete"],
      [2, "nap#1", "sleeping"],
    ]);
    await runAt(id, T0 + 1_000);
    expect((await instance(id)).output).toBe("LR");
    expect([count(id, "left"), count(id, "right")]).toEqual([1, 1]);
  });
});
