/**
 * Workflows written for the tests, registered next to the shipped ones. Side effects are counted
 * in module state, which lives in the test isolate and so survives the object being evicted or
 * aborted: a count that goes up twice means a step really ran twice.
 */
import { defineWorkflow } from "../src/define";
import { NonRetryableError } from "../src/errors";
import { registry } from "../src/workflows";

/** How many times each side effect ran, by `<instance>:<step>`. */
export const effects = new Map<string, number>();

export function effect(instance: string, step: string): number {
  const key = `${instance}:${step}`;
  const count = (effects.get(key) ?? 0) + 1;
  effects.set(key, count);
  return count;
}

export function count(instance: string, step: string): number {
  return effects.get(`${instance}:${step}`) ?? 0;
}

/** Three steps with a sleep between: the plain happy path. */
export const threeSteps = registry.register(
  defineWorkflow("test-three-steps", async (params: { n: number }, step, { instanceId }) => {
    const a = await step.do("a", async () => {
      effect(instanceId, "a");
      return params.n + 1;
    });
    await step.sleep("nap", "1 minute");
    const b = await step.do("b", async () => {
      effect(instanceId, "b");
      return a * 10;
    });
    const c = await step.do("c", async () => {
      effect(instanceId, "c");
      return { total: b + 1 };
    });
    return c;
  }),
);

/** Test hooks: a step can be told to wait for the test, or to fail a number of times. */
export const hooks = new Map<
  string,
  {
    gate?: Promise<void>;
    entered?: () => void;
    crash?: () => void;
    /** Called by the workflow's own code before its first step, on every replay. */
    atStart?: () => void;
    failures?: number;
    nonRetryable?: boolean;
  }
>();

/** A step that fails as the hooks say, with the given retry config. */
export const flaky = registry.register(
  defineWorkflow(
    "test-flaky",
    async (
      params: { limit: number; delay: number; backoff: "constant" | "linear" | "exponential"; jitter?: number },
      step,
      { instanceId },
    ) => {
      const value = await step.do(
        "call",
        { retries: { limit: params.limit, delay: params.delay, backoff: params.backoff, jitter: params.jitter ?? 0 } },
        async ({ attempt }) => {
          effect(instanceId, "call");
          const hook = hooks.get(instanceId);
          if (hook?.nonRetryable) throw new NonRetryableError("bad request, do not retry");
          if ((hook?.failures ?? 0) >= attempt) throw new Error(`failure ${attempt}`);
          return `ok on attempt ${attempt}`;
        },
      );
      return value;
    },
  ),
);

/** A step that waits for the test to open its gate, between two plain steps. */
export const gated = registry.register(
  defineWorkflow("test-gated", async (_params: unknown, step, { instanceId }) => {
    hooks.get(instanceId)?.atStart?.();
    const before = await step.do("before", async () => {
      effect(instanceId, "before");
      return "before";
    });
    const inside = await step.do("inside", async () => {
      const attempt = effect(instanceId, "inside");
      const hook = hooks.get(instanceId);
      hook?.entered?.();
      hook?.crash?.();
      await hook?.gate;
      return `inside ${attempt}`;
    });
    const after = await step.do("after", async () => {
      effect(instanceId, "after");
      return "after";
    });
    return [before, inside, after];
  }),
);

/** Which version of its code `test-versioned` runs, per instance: tests "deploy" a change with it. */
export const versions = new Map<string, "v1" | "v2-inserted" | "v2-shorter">();

/** A workflow whose code a test changes while an instance is running. */
export const versioned = registry.register(
  defineWorkflow("test-versioned", async (_params: unknown, step, { instanceId }) => {
    const version = versions.get(instanceId) ?? "v1";
    const a = await step.do("a", async () => "a");
    if (version === "v2-inserted") await step.do("new step", async () => "new");
    await step.sleep("nap", "1 minute");
    if (version === "v2-shorter") return [a];
    const b = await step.do("b", async () => "b");
    await step.sleep("nap 2", "1 minute");
    return [a, b];
  }),
);

/** One step that returns `bytes` characters of JSON string. */
export const bigOutput = registry.register(
  defineWorkflow("test-big-output", async (params: { bytes: number }, step, { instanceId }) => {
    const text = await step.do("make", { retries: { limit: 0 } }, async () => {
      effect(instanceId, "make");
      return "x".repeat(params.bytes - 2); // the JSON string adds two quotes
    });
    await step.sleep("nap", "1 second");
    return { length: text.length, head: text.slice(0, 3) };
  }),
);

/** Waits for two "ping" events, then a "pong" with a short timeout that it tolerates. */
export const waiter = registry.register(
  defineWorkflow("test-waiter", async (_params: unknown, step) => {
    const first = await step.waitForEvent<string>("first ping", { type: "ping", timeout: "1 hour" });
    const second = await step.waitForEvent<string>("second ping", { type: "ping", timeout: "1 hour" });
    let pong: string;
    try {
      pong = (await step.waitForEvent<string>("pong", { type: "pong", timeout: "5 minutes" })).payload;
    } catch (error) {
      pong = `timed out: ${(error as Error).name}`;
    }
    return { first: first.payload, second: second.payload, pong };
  }),
);

/** `n` steps in a row and nothing else: what one step costs. */
export const steps = registry.register(
  defineWorkflow("test-steps", async (params: { n: number; sleepAfter?: boolean }, step) => {
    let total = 0;
    for (let i = 0; i < params.n; i++) total += await step.do(`step ${i}`, async () => i);
    if (params.sleepAfter) await step.sleep("nap", "1 minute");
    return total;
  }),
);

/** A step whose attempts never answer: each is cut off by its timeout. */
export const hanging = registry.register(
  defineWorkflow("test-hanging", async (_params: unknown, step, { instanceId }) => {
    return step.do("hang", { timeout: 20, retries: { limit: 1, delay: 1_000, backoff: "constant" } }, ({ signal }) => {
      effect(instanceId, "hang");
      // Resolves only if the timeout's abort signal fires: shows the attempt was told to stop.
      return new Promise<string>((resolve) => signal.addEventListener("abort", () => resolve("saw abort")));
    });
  }),
);

/** Two steps started together with Promise.all. */
export const parallel = registry.register(
  defineWorkflow("test-parallel", async (_params: unknown, step, { instanceId }) => {
    const [left, right] = await Promise.all([
      step.do("left", async () => {
        effect(instanceId, "left");
        return "L";
      }),
      step.do("right", async () => {
        effect(instanceId, "right");
        return "R";
      }),
    ]);
    await step.sleep("nap", "1 second");
    return left + right;
  }),
);

/** A step the test holds open, then a wait: events can arrive while the run is in progress. */
export const gateThenWait = registry.register(
  defineWorkflow("test-gate-then-wait", async (_params: unknown, step, { instanceId }) => {
    await step.do("work", async () => {
      const hook = hooks.get(instanceId);
      hook?.entered?.();
      await hook?.gate;
      return "worked";
    });
    const event = await step.waitForEvent<string>("wait", { type: "go", timeout: "1 hour" });
    return event.payload;
  }),
);

/** Two steps with undos, the first of which cannot be undone; then the workflow fails. */
export const failingUndo = registry.register(
  defineWorkflow("test-failing-undo", async (_params: unknown, step, { instanceId }) => {
    await step.do(
      "book flight",
      {
        compensate: () => {
          effect(instanceId, "undo flight");
          throw new NonRetryableError("the airline refuses refunds");
        },
      },
      async () => "FL-1",
    );
    await step.do("book hotel", { compensate: () => effect(instanceId, "undo hotel") }, async () => "HT-1");
    throw new Error("the conference was cancelled");
  }),
);

/** A wait and a slow step started together: the run suspends on the wait while the step finishes. */
export const waitBesideStep = registry.register(
  defineWorkflow("test-wait-beside-step", async (_params: unknown, step, { instanceId }) => {
    const [slow, event] = await Promise.all([
      step.do("slow", async () => {
        const hook = hooks.get(instanceId);
        hook?.entered?.();
        await hook?.gate;
        return "slow done";
      }),
      step.waitForEvent<string>("wait", { type: "go", timeout: "1 hour" }),
    ]);
    return [event.payload, slow];
  }),
);

/** A step, a sleep, a wait and a step: every kind of suspension between two counted effects. */
export const mixed = registry.register(
  defineWorkflow("test-mixed", async (_params: unknown, step, { instanceId }) => {
    const a = await step.do("a", async () => effect(instanceId, "a"));
    await step.sleep("nap", "1 minute");
    const event = await step.waitForEvent<number>("go", { type: "go", timeout: "1 day" });
    const b = await step.do("b", async () => effect(instanceId, "b"));
    return { a, go: event.payload, b };
  }),
);
