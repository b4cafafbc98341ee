/**
 * Workflows written for the tests, run next to the shipped ones by the tests' Worker entry
 * (test/worker.ts builds its registry from `testWorkflows` below). Side effects are counted
 * in module state, which lives in the test isolate and so survives the object being evicted or
 * aborted: a count that goes up twice means a step really ran twice.
 */
import { defineWorkflow } from "../src/engine/define";
import { NonRetryableError } from "../src/engine/errors";

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
export const threeSteps = defineWorkflow("test-three-steps", async (params: { n: number }, step, { instanceId }) => {
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
});

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

/**
 * Holds instance `id`'s gated step (a workflow that awaits its hooks' `gate`): `entered` resolves
 * once the step runs, and the step goes on when the test calls `open()`.
 */
export function holdStep(id: string): { entered: Promise<void>; open: () => void } {
  let open!: () => void;
  let enter!: () => void;
  const entered = new Promise<void>((resolve) => (enter = resolve));
  hooks.set(id, { gate: new Promise<void>((resolve) => (open = resolve)), entered: enter });
  return { entered, open };
}

/** A step that fails as the hooks say, with the given retry config. */
export const flaky = defineWorkflow(
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
);

/** A step that waits for the test to open its gate, between two plain steps. */
export const gated = defineWorkflow("test-gated", async (_params: unknown, step, { instanceId }) => {
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
});

/** Which version of its code `test-versioned` runs, per instance: tests "deploy" a change with it. */
export const versions = new Map<string, "v1" | "v2-inserted" | "v2-shorter" | "v2-kind" | "reused-name">();

/** A workflow whose code a test changes while an instance is running. */
export const versioned = defineWorkflow("test-versioned", async (_params: unknown, step, { instanceId }) => {
  const version = versions.get(instanceId) ?? "v1";
  const a = await step.do("a", async () => "a");
  if (version === "v2-inserted") await step.do("new step", async () => "new");
  if (version === "reused-name") await step.sleep("a", "1 second");
  if (version === "v2-kind") await step.do("nap", async () => "not a sleep any more");
  else await step.sleep("nap", "1 minute");
  if (version === "v2-shorter") return [a];
  const b = await step.do("b", async () => "b");
  await step.sleep("nap 2", "1 minute");
  return [a, b];
});

/** One step that returns `bytes` characters of JSON string. */
export const bigOutput = defineWorkflow("test-big-output", async (params: { bytes: number }, step, { instanceId }) => {
  const text = await step.do("make", { retries: { limit: 0 } }, async () => {
    effect(instanceId, "make");
    return "x".repeat(params.bytes - 2); // the JSON string adds two quotes
  });
  await step.sleep("nap", "1 second");
  return { length: text.length, head: text.slice(0, 3) };
});

/** Waits for two "ping" events, then a "pong" with a short timeout that it tolerates. */
export const waiter = defineWorkflow("test-waiter", async (_params: unknown, step) => {
  const first = await step.waitForEvent<string>("first ping", { type: "ping", timeout: "1 hour" });
  const second = await step.waitForEvent<string>("second ping", { type: "ping", timeout: "1 hour" });
  let pong: string;
  try {
    pong = (await step.waitForEvent<string>("pong", { type: "pong", timeout: "5 minutes" })).payload;
  } catch (error) {
    pong = `timed out: ${(error as Error).name}`;
  }
  return { first: first.payload, second: second.payload, pong };
});

/** `n` steps in a row and nothing else: what one step costs. */
export const steps = defineWorkflow("test-steps", async (params: { n: number; sleepAfter?: boolean }, step) => {
  let total = 0;
  for (let i = 0; i < params.n; i++) total += await step.do(`step ${i}`, async () => i);
  if (params.sleepAfter) await step.sleep("nap", "1 minute");
  return total;
});

/** A step whose attempts never answer: each is cut off by its timeout. */
export const hanging = defineWorkflow("test-hanging", async (_params: unknown, step, { instanceId }) => {
  return step.do("hang", { timeout: 20, retries: { limit: 1, delay: 1_000, backoff: "constant" } }, ({ signal }) => {
    effect(instanceId, "hang");
    // Resolves only if the timeout's abort signal fires: shows the attempt was told to stop.
    return new Promise<string>((resolve) => signal.addEventListener("abort", () => resolve("saw abort")));
  });
});

/** Two steps started together with Promise.all. */
export const parallel = defineWorkflow("test-parallel", async (_params: unknown, step, { instanceId }) => {
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
});

/** A step the test holds open, then a wait: events can arrive while the run is in progress. */
export const gateThenWait = defineWorkflow("test-gate-then-wait", async (_params: unknown, step, { instanceId }) => {
  await step.do("work", async () => {
    const hook = hooks.get(instanceId);
    hook?.entered?.();
    await hook?.gate;
    return "worked";
  });
  const event = await step.waitForEvent<string>("wait", { type: "go", timeout: "1 hour" });
  return event.payload;
});

/** Two steps with undos, the first of which cannot be undone; then the workflow fails. */
export const failingUndo = defineWorkflow("test-failing-undo", async (_params: unknown, step, { instanceId }) => {
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
});

/** A wait and a slow step started together: the run suspends on the wait while the step finishes. */
export const waitBesideStep = defineWorkflow(
  "test-wait-beside-step",
  async (_params: unknown, step, { instanceId }) => {
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
  },
);

/** A step, a sleep, a wait and a step: every kind of suspension between two counted effects. */
export const mixed = defineWorkflow("test-mixed", async (_params: unknown, step, { instanceId }) => {
  const a = await step.do("a", async () => effect(instanceId, "a"));
  await step.sleep("nap", "1 minute");
  const event = await step.waitForEvent<number>("go", { type: "go", timeout: "1 day" });
  const b = await step.do("b", async () => effect(instanceId, "b"));
  return { a, go: event.payload, b };
});

/** Resolves after `ms` of real time: makes parallel steps finish in an order that differs from call order. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Fan-out of depth 2: a branch per item, each a sequence (`a`, then `b`, then `c` and `d` in
 * parallel), the first steps finishing in reverse call order. Then a suspension of the kind asked.
 */
export const fanout = defineWorkflow(
  "test-fanout",
  async (params: { items: number[]; then?: "sleep" | "wait"; flaky?: number }, step, { instanceId }) => {
    const results = await Promise.all(
      params.items.map(async (i) => {
        const a = await step.do(`a${i}`, async () => {
          effect(instanceId, `a${i}`);
          await pause((params.items.length - i) * 3);
          return i * 10;
        });
        const b = await step.do(
          `b${i}`,
          { retries: { limit: 2, delay: "1 minute", backoff: "constant", jitter: 0 } },
          async () => {
            if (effect(instanceId, `b${i}`) === 1 && i === params.flaky) throw new Error(`b${i} flaked`);
            return a + 1;
          },
        );
        const [c, d] = await Promise.all([
          step.do(`c${i}`, async () => {
            effect(instanceId, `c${i}`);
            await pause((params.items.length - i) * 2);
            return b * 2;
          }),
          step.do(`d${i}`, async () => {
            effect(instanceId, `d${i}`);
            return b * 3;
          }),
        ]);
        return c + d;
      }),
    );
    if (params.then === "sleep") await step.sleep("nap", "1 minute");
    if (params.then === "wait") await step.waitForEvent("go", { type: "go", timeout: "1 hour" });
    const total = await step.do("total", async () => {
      effect(instanceId, "total");
      return results.reduce((sum, value) => sum + value, 0);
    });
    return { results, total };
  },
);

/** A step called inside another step's function. */
export const nested = defineWorkflow("test-nested", async (params: { afterAwait?: boolean }, step, { instanceId }) => {
  const outer = await step.do("outer", { retries: { limit: 3, delay: 1_000 } }, async () => {
    if (params.afterAwait) await pause(1); // the inner call comes in a later turn
    return step.do("inner", async () => {
      effect(instanceId, "inner");
      return "inner value";
    });
  });
  await step.sleep("nap", "1 minute");
  return outer;
});

/** Promise.race of a step or an event against a sleep: the pattern that cannot be replayed. */
export const race = defineWorkflow("test-race", async (params: { against: "step" | "event" }, step, { instanceId }) => {
  const deadline = step.sleep("deadline", "1 hour").then(() => "timed out");
  if (params.against === "step") {
    return Promise.race([
      step.do("quick", async () => {
        effect(instanceId, "quick");
        return "quick";
      }),
      deadline,
    ]);
  }
  return Promise.race([
    step.waitForEvent<string>("approval", { type: "approval", timeout: "1 day" }).then((e) => e.payload),
    deadline,
  ]);
});

/** A saga whose failing step runs beside a branch of two steps with undos. */
export const sagaAll = defineWorkflow("test-saga-all", async (_params: unknown, step, { instanceId }) => {
  await step.do("first", { compensate: () => effect(instanceId, "undo first") }, async () => "F");
  await Promise.all([
    step.do("fails", { retries: { limit: 0 } }, async () => {
      effect(instanceId, "fails");
      await pause(5); // "slow" has started by now, and is still running when this fails
      throw new Error("out of stock");
    }),
    (async () => {
      await step.do("slow", { compensate: () => effect(instanceId, "undo slow") }, async () => {
        await pause(30);
        effect(instanceId, "slow");
        return "S";
      });
      await step.do("after slow", { compensate: () => effect(instanceId, "undo after slow") }, async () => {
        effect(instanceId, "after slow");
        return "A";
      });
    })(),
  ]);
  return "unreachable";
});

/** Two steps with the workflow's own code in between, where a test can crash the object. */
export const crashBetween = defineWorkflow("test-crash-between", async (_params: unknown, step, { instanceId }) => {
  const a = await step.do("a", async () => effect(instanceId, "a"));
  hooks.get(instanceId)?.atStart?.(); // here "start" is right after "a" returned
  const b = await step.do("b", async () => effect(instanceId, "b"));
  return [a, b];
});

/** A step that returns a value JSON cannot carry exactly. */
export const nonJson = defineWorkflow(
  "test-non-json",
  async (params: { kind: "bigint" | "circular" | "date" | "map" | "nan" | "class" }, step, { instanceId }) => {
    class Money {
      constructor(readonly cents: number) {}
    }
    await step.do("make", async () => {
      effect(instanceId, "make");
      if (params.kind === "bigint") return { id: 10n };
      if (params.kind === "circular") {
        const node: { self?: unknown } = {};
        node.self = node;
        return node;
      }
      if (params.kind === "date") return { at: new Date(T0_FOR_TESTS) };
      if (params.kind === "map") return new Map([["a", 1]]);
      if (params.kind === "nan") return [1, Number.NaN];
      return new Money(5);
    });
    return "unreachable";
  },
);
const T0_FOR_TESTS = Date.UTC(2026, 0, 1);

/** A step or a suspension with a bad config, picked by name (NaN cannot travel in JSON params). */
export const badConfig = defineWorkflow(
  "test-bad-config",
  async (
    params: {
      bad:
        | "jitter-nan"
        | "timeout-words"
        | "timeout-over-limit"
        | "negative-limit"
        | "negative-delay"
        | "sleep-forever"
        | "wait-forever"
        | "until-forever"
        | "delay-forever";
    },
    step,
    { instanceId },
  ) => {
    const configs: Record<string, unknown> = {
      "jitter-nan": { retries: { jitter: Number.NaN } },
      "timeout-words": { timeout: "thirty seconds" },
      "timeout-over-limit": { timeout: "11 minutes" },
      "negative-limit": { retries: { limit: -1 } },
      "negative-delay": { retries: { delay: -5 } },
      "delay-forever": { retries: { delay: "100000000 weeks" } },
    };
    if (params.bad === "sleep-forever") await step.sleep("forever", "100000000 weeks");
    if (params.bad === "wait-forever") await step.waitForEvent("forever", { type: "go", timeout: "100000000 weeks" });
    if (params.bad === "until-forever") await step.sleepUntil("forever", T0_FOR_TESTS + 400 * 86_400_000);
    await step.do("work", configs[params.bad] as object, async () => {
      effect(instanceId, "work");
      throw new Error("fails, so a retry would follow");
    });
    return "unreachable";
  },
);

/** A workflow shape, as test/shapes.test.ts generates them. */
export type Shape =
  | { t: "step"; name: string; delay: number; fail?: boolean; undo?: boolean }
  | { t: "sleep"; name: string; ms: number }
  | { t: "wait"; name: string; type: "a" | "b" }
  | { t: "seq"; items: Shape[] }
  | { t: "all"; items: Shape[] };

/**
 * Where the shapes test kills the object: `countdown` crash points from now, either as a step's
 * function starts ("before": the attempt is cut short) or in the workflow's code right after a
 * step returned ("after").
 */
export const shapeCrashes = new Map<string, { countdown: number; where: "before" | "after"; abort: () => void }>();

function crashPoint(instanceId: string, where: "before" | "after"): void {
  const crash = shapeCrashes.get(instanceId);
  if (!crash || crash.where !== where || --crash.countdown > 0) return;
  shapeCrashes.delete(instanceId);
  crash.abort();
}

/**
 * What a shape returns when nothing fails: the same nesting, each step its name, each sleep null,
 * each wait the payload of the event it received (`received(wait)`: which one depends on the order
 * in which parallel waits ran, so the test reads it from the wait's stored step).
 */
export function evaluateShape(shape: Shape, received: (wait: string) => unknown): unknown {
  if (shape.t === "step") return shape.name;
  if (shape.t === "sleep") return null;
  if (shape.t === "wait") return received(shape.name);
  return shape.items.map((item) => evaluateShape(item, received));
}

/** Runs any shape: sequences, Promise.all of branches, sleeps, failing steps, steps with undos. */
export const shaped = defineWorkflow("test-shape", async (params: { shape: Shape }, step, { instanceId }) => {
  const interpret = async (shape: Shape): Promise<unknown> => {
    switch (shape.t) {
      case "step": {
        const value = await step.do(
          shape.name,
          {
            // A crash cuts an attempt short and counts it: room for the test's crashes.
            retries: { limit: 3, delay: 1_000, backoff: "constant", jitter: 0 },
            ...(shape.undo ? { compensate: () => effect(instanceId, `undo ${shape.name}`) } : {}),
          },
          async () => {
            crashPoint(instanceId, "before");
            await pause(shape.delay);
            if (shape.fail) throw new NonRetryableError(`${shape.name} failed`);
            effect(instanceId, shape.name);
            return shape.name;
          },
        );
        crashPoint(instanceId, "after");
        return value;
      }
      case "sleep":
        await step.sleep(shape.name, shape.ms);
        return null;
      case "wait":
        return (await step.waitForEvent(shape.name, { type: shape.type, timeout: "1 day" })).payload;
      case "seq": {
        const out: unknown[] = [];
        for (const item of shape.items) out.push(await interpret(item));
        return out;
      }
      case "all":
        return Promise.all(shape.items.map(interpret));
    }
  };
  return interpret(params.shape);
});

/** A step whose undo returns a value JSON cannot carry (a Map), then a failure. */
export const undoReturnsMap = defineWorkflow(
  "test-undo-returns-map",
  async (_params: unknown, step, { instanceId }) => {
    await step.do(
      "book",
      {
        compensate: () => {
          effect(instanceId, "undo book");
          return new Map([["refund", 1]]);
        },
      },
      async () => "B-1",
    );
    throw new Error("cancelled");
  },
);

/** Scheduled every 30 seconds (a 6-field cron, seconds first): two fires in each minute. */
export const everyHalfMinute = defineWorkflow("test-every-half-minute", async () => "fired", {
  schedule: { cron: "*/30 * * * * *" },
});

/** The same step name called three times (keys `fetch#1` … `fetch#3`), then a summary step. */
export const repeated = defineWorkflow("test-repeated", async (_params: unknown, step, { instanceId }) => {
  const pages: number[] = [];
  for (let page = 1; page <= 3; page++) {
    pages.push(await step.do("fetch", async () => effect(instanceId, `fetch ${page}`) * 10 + page));
  }
  return step.do("sum", async () => {
    effect(instanceId, "sum");
    return pages;
  });
});

/** The clock each instance of `test-long` moves: its steps take time, as real steps do. */
export const longClocks = new Map<string, { now: number }>();

/**
 * `n` steps in a row, or `branches` parallel branches of `n` steps each; every step takes
 * `stepMs` on the instance's clock in {@link longClocks}. For the run budget's tests.
 */
export const long = defineWorkflow(
  "test-long",
  async (params: { n: number; branches?: number; stepMs?: number }, step, { instanceId }) => {
    const branch = async (b: number) => {
      let total = 0;
      for (let i = 0; i < params.n; i++) {
        total += await step.do(`s${b}.${i}`, async () => {
          const clock = longClocks.get(instanceId);
          if (clock) clock.now += params.stepMs ?? 0;
          return effect(instanceId, `s${b}.${i}`);
        });
      }
      return total;
    };
    const totals = await Promise.all(Array.from({ length: params.branches ?? 1 }, (_, b) => branch(b)));
    return totals.reduce((a, b) => a + b, 0);
  },
);

/**
 * One step, then the end (or a failure, with `fail`; or a wait for an event `go`, with `wait`): for
 * the index's tests, whose counts are only this workflow's.
 */
export const listed = defineWorkflow(
  "test-listed",
  async (params: { fail?: boolean; wait?: boolean } | undefined, step) => {
    const one = await step.do("one", async () => 1);
    if (params?.wait) await step.waitForEvent("go", { type: "go" });
    if (params?.fail) throw new NonRetryableError("told to fail");
    return one;
  },
);

/** As `test-listed`, with a retention of its own: kept 1 hour when complete, 2 when errored, 3 when terminated. */
export const retained = defineWorkflow(
  "test-retained",
  async (params: { fail?: boolean } | undefined, step) => {
    const one = await step.do("one", async () => 1);
    if (params?.fail) throw new NonRetryableError("told to fail");
    return one;
  },
  { retention: { complete: "1 hour", errored: "2 hours", terminated: "3 hours" } },
);

/** What the instances of a limited workflow do at once: in their step now, the most ever, who entered when. */
export interface LimitedLog {
  now: number;
  max: number;
  entered: string[];
}

/** One log per limited workflow, by name (module state: it survives the objects). */
export const limitedLogs = new Map<string, LimitedLog>();

/**
 * A workflow with a concurrency limit: its step records entry and exit in {@link limitedLogs} and
 * takes `ms` (default 2) of real time, so steps of different instances overlap when they may.
 * `sleepMs` sleeps that long after the step, then runs a second one. A `crash` hook kills the
 * object as the step starts (once).
 */
function limitedWorkflow(name: string, limit: number) {
  const log: LimitedLog = { now: 0, max: 0, entered: [] };
  limitedLogs.set(name, log);
  return defineWorkflow(
    name,
    async (params: { sleepMs?: number; ms?: number } | undefined, step, { instanceId }) => {
      const work = async (label: string) => {
        const hook = hooks.get(instanceId);
        if (hook?.crash) {
          const crash = hook.crash;
          hooks.delete(instanceId);
          crash();
        }
        log.now++;
        log.max = Math.max(log.max, log.now);
        log.entered.push(`${instanceId}:${label}`);
        try {
          await new Promise((resolve) => setTimeout(resolve, params?.ms ?? 2));
        } finally {
          log.now--;
        }
        return effect(instanceId, label);
      };
      await step.do("work", () => work("work"));
      if (params?.sleepMs) {
        await step.sleep("nap", params.sleepMs);
        await step.do("after", () => work("after"));
      }
      return "done";
    },
    { concurrency: { limit } },
  );
}

/** At most 3 instances run steps at once. */
export const limited = limitedWorkflow("test-limited", 3);

/** At most 1 instance runs steps at once. */
export const limitedOne = limitedWorkflow("test-limited-one", 1);

/** Every workflow above: test/worker.ts starts and runs these beside the shipped ones. */
export const testWorkflows = [
  threeSteps,
  flaky,
  gated,
  versioned,
  bigOutput,
  waiter,
  steps,
  hanging,
  parallel,
  gateThenWait,
  failingUndo,
  waitBesideStep,
  mixed,
  fanout,
  nested,
  race,
  sagaAll,
  crashBetween,
  nonJson,
  badConfig,
  shaped,
  undoReturnsMap,
  everyHalfMinute,
  repeated,
  long,
  listed,
  retained,
  limited,
  limitedOne,
];
