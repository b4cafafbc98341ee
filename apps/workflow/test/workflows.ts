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
  { gate?: Promise<void>; entered?: () => void; failures?: number; nonRetryable?: boolean }
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
    const before = await step.do("before", async () => {
      effect(instanceId, "before");
      return "before";
    });
    const inside = await step.do("inside", async () => {
      effect(instanceId, "inside");
      const hook = hooks.get(instanceId);
      hook?.entered?.();
      await hook?.gate;
      return "inside";
    });
    const after = await step.do("after", async () => {
      effect(instanceId, "after");
      return "after";
    });
    return [before, inside, after];
  }),
);
