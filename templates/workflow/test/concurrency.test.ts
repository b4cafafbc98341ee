/**
 * `defineWorkflow(..., { concurrency: { limit: N } })`: at most N instances of the workflow run
 * steps at once; the others stay `queued` and start in creation order as slots free. The slots are
 * rows of the workflow's WorkflowCoordinator object; runners ask for one at the start of each run
 * and give it back (through their alarm queue, at least once) when the run suspends or ends.
 *
 * Unlike the other tests, these run on the real clock and let workerd fire every alarm by itself,
 * as the platform would: hundreds of instances and the coordinator drive each other, and the test
 * only waits. The steps record entry and exit in the test isolate's memory, which all objects share.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { defineWorkflow } from "../src/engine/define";
import type { InstanceView } from "../src/protocol";
import type { WorkflowCoordinator } from "../src/workflow-coordinator-object";
import { LEASE_MS } from "../src/workflow-coordinator-object";
import { api, instance, json, lifecycle, stub, uniqueId } from "./helpers";
import { count, hooks, limitedLogs } from "./workflows";

const coordinator = (name: string) => env.WORKFLOW_COORDINATOR.getByName(name);

/** Waits (polling every 20 ms, up to 60 s) until `check` holds. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let waited = 0; waited < 60_000; waited += 20) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Timed out waiting until ${what}`);
}

/** Creates `ids` of `workflow` in batches of 100 sent at once. */
async function createAll(workflow: string, ids: string[], params?: unknown): Promise<void> {
  const batches = [];
  for (let i = 0; i < ids.length; i += 100) batches.push(ids.slice(i, i + 100));
  await Promise.all(
    batches.map(async (batch) => {
      const response = await api(
        "/api/instances/batch",
        json("POST", { instances: batch.map((id) => ({ workflow, id, params })) }),
      );
      const { results } = (await response.json()) as { results: { ok: boolean }[] };
      expect(results.every((result) => result.ok)).toBe(true);
    }),
  );
}

const statusOf = async (id: string) => (await instance(id)).status;

describe("concurrency limit", () => {
  it("never runs more than 3 instances' steps at once under 200 concurrent creates, and starts those that waited in creation order", async () => {
    const log = limitedLogs.get("test-limited")!;
    const ids = Array.from({ length: 200 }, () => uniqueId("lim"));
    await createAll("test-limited", ids);
    // Polls the steps' own record (free) rather than 200 instances, then checks each once.
    await eventually("all 200 ran their step", async () => ids.every((id) => count(id, "work") === 1));
    await eventually("all 200 complete", async () =>
      (await Promise.all(ids.map(statusOf))).every((status) => status === "complete"),
    );
    expect(log.max).toBe(3);
    expect(log.now).toBe(0);
    for (const id of ids) expect(count(id, "work")).toBe(1);
    // Creation order: by creation time, then id (the order the coordinator's waitlist keeps).
    const views = new Map<string, InstanceView>();
    for (const id of ids) views.set(id, await instance(id));
    const created = (id: string) => [Date.parse(views.get(id)!.createdAt), id] as const;
    const byCreation = (a: string, b: string) => {
      const [x, y] = [created(a), created(b)];
      return x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0);
    };
    const order = log.entered.filter((entry) => ids.includes(entry.split(":")[0]!)).map((e) => e.split(":")[0]!);
    expect(order.length).toBe(200);
    // The first requests found free slots in whatever order their alarms fired; every later start
    // was a waiter's, given in creation order.
    const waited = order.slice(3);
    expect(waited).toEqual([...waited].sort(byCreation));
    await eventually("every slot given back", async () => {
      const state = await coordinator("test-limited").state();
      return state.running.length === 0 && state.waiting.length === 0;
    });
  }, 90_000);

  it("lets a waiter run while the instance before it sleeps: a sleeping instance holds no slot", async () => {
    const log = limitedLogs.get("test-limited-one")!;
    const [sleeper, next] = [uniqueId("sleeper"), uniqueId("next")];
    await createAll("test-limited-one", [sleeper], { sleepMs: 1_000 });
    await eventually("the sleeper sleeps", async () => (await statusOf(sleeper)) === "waiting");
    await createAll("test-limited-one", [next]);
    await eventually("the next one completes", async () => (await statusOf(next)) === "complete");
    expect(await statusOf(sleeper)).toBe("waiting");
    await eventually("the sleeper completes", async () => (await statusOf(sleeper)) === "complete");
    const mine = log.entered.filter((entry) => entry.startsWith(sleeper) || entry.startsWith(next));
    expect(mine).toEqual([`${sleeper}:work`, `${next}:work`, `${sleeper}:after`]);
    expect(log.max).toBe(1);
  });

  it("keeps the slot of an instance whose object crashed mid-step for its retried run, then gives it back", async () => {
    const log = limitedLogs.get("test-limited-one")!;
    const [crashing, next] = [uniqueId("crashing"), uniqueId("next")];
    // The crash hook is set before the instance exists: its first step kills the object once.
    await runInDurableObject(stub(crashing), (_runner, state) => {
      hooks.set(crashing, { crash: () => state.abort("simulated crash") });
    });
    await createAll("test-limited-one", [crashing], { ms: 50 });
    // Slots go in creation order among those that asked: `next` must not ask before `crashing` has.
    await eventually(
      "the crashing one holds the slot (or is done with it)",
      async () =>
        (await coordinator("test-limited-one").state()).running.includes(crashing) ||
        (await statusOf(crashing)) === "complete",
    );
    await createAll("test-limited-one", [next]);
    await eventually("both complete", async () =>
      (await Promise.all([statusOf(crashing), statusOf(next)])).every((status) => status === "complete"),
    );
    const mine = log.entered.filter((entry) => entry.startsWith(crashing) || entry.startsWith(next));
    expect(mine).toEqual([`${crashing}:work`, `${next}:work`]);
    expect([count(crashing, "work"), count(next, "work")]).toEqual([1, 1]);
    expect(log.max).toBe(1);
  });

  it("takes a waiter out of line when it is paused, and back in when it is resumed", async () => {
    const log = limitedLogs.get("test-limited-one")!;
    const [holder, paused, last] = [uniqueId("holder"), uniqueId("paused"), uniqueId("last")];
    await createAll("test-limited-one", [holder], { ms: 300 });
    await eventually("the holder runs", async () =>
      (await coordinator("test-limited-one").state()).running.includes(holder),
    );
    await createAll("test-limited-one", [paused]);
    await eventually("it waits in line", async () =>
      (await coordinator("test-limited-one").state()).waiting.includes(paused),
    );
    expect((await lifecycle(paused, "pause")).status).toBe(200);
    await createAll("test-limited-one", [last]);
    await eventually("the last one completes", async () => (await statusOf(last)) === "complete");
    expect(await statusOf(paused)).toBe("paused");
    expect((await coordinator("test-limited-one").state()).waiting).not.toContain(paused);
    await lifecycle(paused, "resume");
    await eventually("the resumed one completes", async () => (await statusOf(paused)) === "complete");
    const mine = log.entered.filter((e) => [holder, paused, last].some((id) => e.startsWith(id)));
    expect(mine).toEqual([`${holder}:work`, `${last}:work`, `${paused}:work`]);
  });

  it("gives a paused running instance's slot to the next only once its step in progress has finished", async () => {
    const log = limitedLogs.get("test-limited-one")!;
    const [slow, next] = [uniqueId("slow"), uniqueId("next")];
    await createAll("test-limited-one", [slow], { ms: 300 });
    await eventually("the slow step runs", async () => log.entered.includes(`${slow}:work`));
    await createAll("test-limited-one", [next]);
    expect((await lifecycle(slow, "pause")).status).toBe(200);
    await eventually("the next one completes", async () => (await statusOf(next)) === "complete");
    // Had the pause given the slot back at once, the two steps would have overlapped.
    expect(log.max).toBe(1);
    expect(await statusOf(slow)).toBe("paused");
    await lifecycle(slow, "resume");
    await eventually("the resumed one completes", async () => (await statusOf(slow)) === "complete");
    expect(count(slow, "work")).toBe(1);
  });

  it("frees a slot whose instance never comes back once its lease has passed", async () => {
    // A slot taken straight through the coordinator's RPC, by an instance that then disappears.
    const name = "lease-test";
    const gate = coordinator(name);
    await runInDurableObject(gate, (object: WorkflowCoordinator) => {
      object.clock = () => 1_000;
    });
    const request = { incarnation: "x", ticket: 1, limit: 1 };
    expect(await gate.acquire({ ...request, id: "ghost", createdAt: 1 })).toBe(true);
    expect(await gate.acquire({ ...request, id: "waiter", createdAt: 2 })).toBe(false);
    await runInDurableObject(gate, (object: WorkflowCoordinator) => {
      object.clock = () => 1_000 + LEASE_MS - 1;
    });
    await runDurableObjectAlarm(gate);
    expect(await gate.state()).toEqual({ running: ["ghost"], waiting: ["waiter"] });
    await runInDurableObject(gate, (object: WorkflowCoordinator) => {
      object.clock = () => 1_000 + LEASE_MS;
    });
    // The reap task is due when the lease ends: it frees the slot and gives it to the waiter.
    await runDurableObjectAlarm(gate);
    expect((await gate.state()).running).toEqual(["waiter"]);
    // A late release of the ghost's request changes nothing; the waiter's own request renews its slot.
    await gate.release("ghost", "x", 2, 1);
    expect(await gate.acquire({ ...request, id: "waiter", ticket: 2, createdAt: 2 })).toBe(true);
    expect(await gate.state()).toEqual({ running: ["waiter"], waiting: [] });
  });

  it("refuses a limit that is not a whole number from 1 to 10,000 when the workflow is defined", () => {
    for (const limit of [0, 1.5, 10_001, Number.NaN]) {
      expect(() => defineWorkflow("bad-limit", async () => null, { concurrency: { limit } })).toThrow(
        /concurrency\.limit of "bad-limit"/,
      );
    }
  });
});
