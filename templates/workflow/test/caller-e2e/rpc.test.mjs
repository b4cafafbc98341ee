// Another Worker (test/caller/worker.ts) calling WorkflowService over a service binding typed by
// src/rpc.ts, as the README shows, in one `wrangler dev` with this app. Run with `pnpm test:e2e`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { baseUrl } from "../../src/shared/e2e.mjs";

const BASE = baseUrl(8790);

describe("a Worker calling WorkflowService over its service binding", () => {
  it("runs every RPC snippet of the README: each call answers a value, refusals included, none throws", async () => {
    const response = await fetch(`${BASE}/rpc`);
    const seen = await response.json();
    assert.equal(response.status, 200, JSON.stringify(seen));
    // start, then an event to it: accepted with the first event id, whatever the run reached meanwhile.
    assert.match(seen[0], /^(queued|running|waiting|complete) 1$/);
    // The same id again with onConflict "return": order-42 did not exist, so it was created.
    assert.ok(seen.includes("true"), JSON.stringify(seen));
    // Counts for every registered workflow, the sample schedule's included.
    assert.ok(
      seen.some((entry) => /^order \d+$/.test(entry)),
      JSON.stringify(seen),
    );
    assert.ok(
      seen.some((entry) => /^daily-report \d+$/.test(entry)),
      JSON.stringify(seen),
    );
    // The last call, a restart from the top, answers a value either way.
    assert.ok(["from the top", "refused"].includes(seen.at(-1)), JSON.stringify(seen));
  });

  it("reads the counts through the binding: one entry per workflow, every status counted", async () => {
    const counts = await (await fetch(`${BASE}/ready`)).json();
    assert.deepEqual(counts.map((c) => c.name).sort(), ["daily-report", "order"]);
    for (const { counts: perStatus } of counts) {
      assert.deepEqual(Object.keys(perStatus).sort(), [
        "complete",
        "errored",
        "paused",
        "queued",
        "running",
        "terminated",
        "waiting",
      ]);
    }
  });
});
