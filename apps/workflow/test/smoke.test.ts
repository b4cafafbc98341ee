import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { T0, instance, run, runAt, start, stub, setClock } from "./helpers";
import { count } from "./workflows";

describe("smoke", () => {
  it("runs three steps with a sleep", async () => {
    const id = await start("test-three-steps", { n: 1 });
    expect((await instance(id)).status).toBe("queued");
    await run(id);
    let view = await instance(id);
    expect(view.status).toBe("waiting");
    expect(view.steps.map((s) => [s.key, s.status])).toEqual([
      ["a#1", "complete"],
      ["nap#1", "sleeping"],
    ]);
    await evictDurableObject(stub(id));
    await setClock(id, T0);
    await runAt(id, T0 + 60_000);
    view = await instance(id);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual({ total: 21 });
    expect(count(id, "a")).toBe(1);
  });
});
