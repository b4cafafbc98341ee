import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
  it("increments", async () => {
    const r = await exports.default.fetch("http://x/api/counters/a/increment", { method: "POST" });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ name: "a", value: 1 });
  });
});
