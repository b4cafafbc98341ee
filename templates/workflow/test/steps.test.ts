/**
 * `step.do` and `step.sleep`: results are stored once and replayed, sleeps go through the alarm
 * queue, large results are chunked, and a code change under a running instance is caught.
 */
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { InstanceView } from "../src/protocol";
import { expectErrored, runUntilSettled } from "./assertions";
import { T0, instance, nextRunAt, run, runAt, setClock, start, stub } from "./helpers";
import { count, versions } from "./workflows";

describe("step.do and step.sleep", () => {
  it("runs each step once and replays stored results after a sleep", async () => {
    const id = await start("test-three-steps", { n: 1 });
    expect((await instance(id)).status).toBe("queued");

    let view = await runUntilSettled(id);
    expect(view.status).toBe("waiting");
    expect(view.steps.map((s) => [s.key, s.kind, s.status])).toEqual([
      ["a#1", "do", "complete"],
      ["nap#1", "sleep", "sleeping"],
    ]);
    expect(view.steps[0]).toMatchObject({ attempts: 1, output: 2, outputBytes: 1, error: null });
    expect(view.steps[1]!.wakeAt).toBe(new Date(T0 + 60_000).toISOString());
    // The sleep is the alarm queue's "run" task, due when it ends.
    expect(await nextRunAt(id)).toBe(T0 + 60_000);

    view = await runUntilSettled(id, T0 + 60_000);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual({ total: 21 });
    expect(view.steps.map((s) => s.status)).toEqual(["complete", "complete", "complete", "complete"]);
    // The second run replayed "a" from SQLite instead of running it again.
    expect([count(id, "a"), count(id, "b"), count(id, "c")]).toEqual([1, 1, 1]);
    expect(await nextRunAt(id)).toBeNull();
  });

  it("does not wake a sleeping instance before its time", async () => {
    const id = await start("test-three-steps", { n: 5 });
    await run(id);
    // An early alarm (the platform may fire late, never early, but a wake-up can come from an event).
    await runAt(id, T0 + 59_999);
    expect((await instance(id)).status).toBe("waiting");
    expect(await nextRunAt(id)).toBe(T0 + 60_000);
    await runAt(id, T0 + 60_000);
    expect((await instance(id)).output).toEqual({ total: 61 });
  });

  it("keeps a sleep's end across eviction", async () => {
    const id = await start("test-three-steps", { n: 2 });
    await run(id);
    await evictDurableObject(stub(id));
    await runAt(id, T0 + 60_000);
    expect((await instance(id)).status).toBe("complete");
    expect(count(id, "a")).toBe(1);
  });
});

describe("large step results", () => {
  it("stores a 5 MiB result in chunk rows and replays it intact", async () => {
    const bytes = 5 * 1024 * 1024;
    const id = await start("test-big-output", { bytes });
    let view = await runUntilSettled(id);
    // Too large to show inline: the view gives its size.
    expect(view.steps[0]).toMatchObject({ status: "complete", outputBytes: bytes });
    expect(view.steps[0]).not.toHaveProperty("output");
    await evictDurableObject(stub(id));
    view = await runUntilSettled(id, T0 + 1_000);
    expect(view.status).toBe("complete");
    expect(view.output).toEqual({ length: bytes - 2, head: "xxx" });
    expect(count(id, "make")).toBe(1);
  });

  it("fails a step whose result is over 32 MiB, without retrying, naming the limit", async () => {
    const id = await start("test-big-output", { bytes: 32 * 1024 * 1024 + 1 });
    const view = await runUntilSettled(id);
    expect(view.status).toBe("errored");
    expect(view.steps[0]!.error).toEqual({
      name: "OutputTooLargeError",
      message: expect.stringContaining("at most 33554432 bytes (32 MiB)"),
    });
    expect(view.error!.message).toContain('Step "make" failed after 1 attempt');
  });
});

/**
 * Starts a `test-versioned` instance, runs it on its first code (into "nap", then one more minute
 * for each of `minutes`), changes its code to `version` and runs it a minute later. Answers its id.
 */
async function runThenChangeCode(version: Parameters<typeof versions.set>[1], minutes = 0): Promise<string> {
  const id = await start("test-versioned");
  await run(id);
  for (let minute = 1; minute <= minutes; minute++) await runAt(id, T0 + minute * 60_000);
  versions.set(id, version);
  await runAt(id, T0 + (minutes + 1) * 60_000);
  return id;
}

/** How every non-determinism error ends. */
const CODE_CHANGED =
  "The workflow's code changed while the instance was running; restart the instance to run it with the new code.";

/** Asserts that the instance failed because its code changed under it: `what` changed, then {@link CODE_CHANGED}. */
function expectCodeChanged(view: InstanceView, what: string): void {
  expectErrored(view, { name: "NonDeterminismError", message: `${what} ${CODE_CHANGED}` });
}

describe("code changes under a running instance", () => {
  it("errors with a clear message when a step is inserted before completed ones", async () => {
    const view = await instance(await runThenChangeCode("v2-inserted"));
    expectCodeChanged(
      view,
      'The workflow now calls step.do "new step#1" before step.sleep "nap#1", which this instance already ran.',
    );
    // Nothing was mixed up: the stored steps are untouched.
    expect(view.steps.map((s) => s.key)).toEqual(["a#1", "nap#1"]);
  });

  it("errors when the code now ends before steps that already ran", async () => {
    const view = await instance(await runThenChangeCode("v2-shorter", 1)); // changed in "nap 2", after "b"
    expectCodeChanged(view, 'This workflow now ends without calling step.do "b#1", which this instance already ran.');
  });

  it("errors when a stored step is now called as another kind of step", async () => {
    const view = await instance(await runThenChangeCode("v2-kind"));
    expectCodeChanged(
      view,
      'The workflow now calls step.do "nap#1", but when this instance ran it, "nap#1" was step.sleep "nap#1".',
    );
    expect(view.steps.map((s) => [s.key, s.status])).toEqual([
      ["a#1", "complete"],
      ["nap#1", "sleeping"],
    ]);
  });

  it("refuses a step name used for two kinds of step, at the second call", async () => {
    const id = await start("test-versioned");
    versions.set(id, "reused-name");
    const view = await runUntilSettled(id);
    expectErrored(view, {
      name: "InvalidStepError",
      message: 'step.sleep "a" reuses the name of step.do "a"; give each step its own name.',
    });
    expect(view.steps.map((s) => s.key)).toEqual(["a#1"]);
  });

  it("runs the new code from the start after a restart", async () => {
    const id = await runThenChangeCode("v2-inserted");
    expect((await instance(id)).status).toBe("errored");
    await setClock(id, T0 + 60_000);
    await stub(id).restart();
    await run(id);
    await runAt(id, T0 + 120_000);
    const view = await runUntilSettled(id, T0 + 180_000);
    expect(view.status).toBe("complete");
    expect(view.steps.map((s) => s.key)).toEqual(["a#1", "new step#1", "nap#1", "b#1", "nap 2#1"]);
  });
});

describe("step results that are not JSON", () => {
  // Each kind of result test-non-json makes, and the type its error names.
  for (const [kind, type] of Object.entries({
    bigint: "BigInt",
    circular: "circular reference",
    date: "Date",
    map: "Map",
    nan: "NaN",
    class: "Money",
  })) {
    it(`fails a step that returns a ${type} at once, not retried, naming the step and the type`, async () => {
      const id = await start("test-non-json", { kind });
      const view = await runUntilSettled(id);
      expect(view.status).toBe("errored");
      expect(view.steps[0]).toMatchObject({ name: "make", status: "errored", attempts: 1 });
      expect(view.steps[0]!.error).toEqual({
        name: "NonJsonResultError",
        message: expect.stringContaining(`Step "make" returned`),
      });
      expect(view.steps[0]!.error!.message).toContain(type);
      expect(count(id, "make")).toBe(1);
    });
  }
});

describe("bad step config and unbounded durations", () => {
  for (const [bad, field] of [
    ["jitter-nan", "retries.jitter"],
    ["timeout-words", "timeout"],
    ["timeout-over-limit", "timeout is over the limit of 10 minutes"],
    ["negative-limit", "retries.limit"],
    ["negative-delay", "retries.delay"],
    ["delay-forever", "retries.delay"],
    ["sleep-forever", 'step.sleep "forever"'],
    ["wait-forever", 'step.waitForEvent "forever"'],
    ["until-forever", 'step.sleepUntil "forever"'],
  ] as const) {
    it(`errors the instance at the call, before anything runs, for ${bad} (${field})`, async () => {
      const id = await start("test-bad-config", { bad });
      const view = await runUntilSettled(id); // a 200, never a 500
      expectErrored(view, { name: "InvalidStepError", message: expect.stringContaining(field) });
      expect(view.steps).toEqual([]);
      expect(count(id, "work")).toBe(0);
      expect(await nextRunAt(id)).toBeNull(); // no run left to wake for
    });
  }
});
