import rule from "../src/rules/no-timers-in-durable-object.js";
import { ruleTester } from "./rule-tester.ts";

ruleTester.run("no-timers-in-durable-object", rule, {
  valid: [
    {
      name: "allows a timer in a Worker's fetch handler, outside any Durable Object",
      code: `export default { async fetch() { await new Promise((r) => setTimeout(r, 10)); return new Response("ok"); } };`,
    },
    {
      name: "allows timed work scheduled through the alarm queue",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Reminder extends DurableObject<Env> {
          remind(at: number) { this.queue.schedule({ name: "remind", at }); }
        }`,
    },
    {
      name: "allows timers in a class that is not a Durable Object",
      code: `class Debouncer { run(fn: () => void) { setTimeout(fn, 100); } }`,
    },
    {
      name: "allows a method that is merely named setTimeout on another object",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Session extends DurableObject { touch() { this.policy.setTimeout(30); } }`,
    },
  ],
  invalid: [
    {
      name: "reports the classic flush-later buffer built on setTimeout",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Batcher extends DurableObject<Env> {
          add(item: string) {
            this.buffer.push(item);
            setTimeout(() => this.flush(), 5_000);
          }
        }`,
      errors: [{ messageId: "timer", data: { name: "setTimeout" } }],
    },
    {
      name: "reports a heartbeat setInterval started in a Durable Object's fetch",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Presence extends DurableObject {
          async fetch() {
            this.interval = setInterval(() => this.sweep(), 30_000);
            return new Response(null, { status: 204 });
          }
        }`,
      errors: [{ messageId: "timer", data: { name: "setInterval" } }],
    },
    {
      name: "reports globalThis.setTimeout too",
      code: `
        import { DurableObject as Base } from "cloudflare:workers";
        export class Job extends Base { start() { globalThis.setTimeout(() => this.finish(), 1000); } }`,
      errors: [{ messageId: "timer", data: { name: "globalThis.setTimeout" } }],
    },
    {
      name: "recognises an old-style object by its DurableObjectState constructor",
      code: `
        export class Legacy {
          constructor(private state: DurableObjectState, private env: Env) {}
          async fetch() { setTimeout(() => this.expire(), 60_000); return new Response("ok"); }
        }`,
      errors: [{ messageId: "timer" }],
    },
    {
      name: "recognises an object built on the apps' SqlDurableObject, with no constructor of its own",
      code: `
        import { SqlDurableObject } from "./shared";
        export class Digest extends SqlDurableObject<Env, {}> {
          protected tasks() { return {}; }
          collect() { setTimeout(() => this.send(), 60_000); }
        }`,
      errors: [{ messageId: "timer" }],
    },
    {
      name: "recognises a class that implements DurableObject",
      code: `
        export class Ticker implements DurableObject {
          async fetch() { setInterval(() => this.tick(), 1000); return new Response("ok"); }
        }`,
      errors: [{ messageId: "timer" }],
    },
  ],
});
