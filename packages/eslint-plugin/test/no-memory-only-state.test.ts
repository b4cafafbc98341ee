import rule from "../src/rules/no-memory-only-state.js";
import { ruleTester } from "./rule-tester.ts";

ruleTester.run("no-memory-only-state", rule, {
  valid: [
    {
      name: "allows configuration set in the constructor and initializers and read anywhere",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Counter extends DurableObject<Env> {
          readonly sql: Sql;
          clock: () => number = () => Date.now();
          private readonly limit = 100;
          constructor(ctx: DurableObjectState, env: Env) {
            super(ctx, env);
            this.sql = new Sql(ctx.storage);
          }
          increment() { return this.sql.one("UPDATE counter SET value = value + 1 RETURNING value", this.clock(), this.limit); }
          async alarm() { this.sql.run("DELETE FROM counter WHERE at < ?", this.clock()); }
        }`,
    },
    {
      name: "allows a lazy cache filled with ??= and cleared after a purge (the rate limiter's queue)",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class RateLimiter extends DurableObject<Env> {
          private scheduler?: AlarmQueue;
          private get queue() { return (this.scheduler ??= new AlarmQueue(this.ctx, { sql: this.sql })); }
          async alarm() {
            if (!this.scheduler) return;
            await this.queue.run();
          }
          private async purge() {
            await this.ctx.storage.deleteAll();
            this.scheduler = undefined;
          }
        }`,
    },
    {
      name: "allows a field whose name ends in Cache (the chat room's epochCache and newestCache)",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class ChatRoom extends DurableObject<Env> {
          private newestCache: number | null = null;
          async webSocketMessage(ws: WebSocket, message: string) {
            this.newestCache = this.sql.one("INSERT INTO messages (text) VALUES (?) RETURNING id", message).id;
          }
          count() { return this.newestCache ?? this.sql.one("SELECT max(id) AS id FROM messages").id; }
        }`,
    },
    {
      name: "allows a field whose declaration has a cache: comment",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class RateLimiter extends DurableObject<Env> {
          // cache: rebuilt from SQLite after a wake-up
          private schema: boolean;
          constructor(ctx: DurableObjectState, env: Env) { super(ctx, env); this.schema = this.sql.hasTable("quota"); }
          private async purge() { await this.ctx.storage.deleteAll(); this.schema = this.sql.hasTable("quota"); }
          private load(name: string) { return this.schema ? this.sql.one("SELECT * FROM quota WHERE name = ?", name) : null; }
        }`,
    },
    {
      name: "allows a cache: JSDoc comment on a field assigned only in the constructor of a plain JS class",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Room extends DurableObject {
          constructor(ctx, env) {
            super(ctx, env);
            /** cache: the topic row, read again after a wake-up */
            this.topic = null;
          }
          setTopic(topic) { this.sql.run("UPDATE room SET topic = ?", topic); this.topic = topic; }
          getTopic() { return this.topic; }
        }`,
    },
    {
      name: "allows the field names listed in the allow option",
      options: [{ allow: ["sentBytes"] }],
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class ChatRoom extends DurableObject<Env> {
          private sentBytes = 0;
          private publish(text: string) { this.sentBytes += text.length; }
          private behind(acked: number) { return this.sentBytes - acked; }
        }`,
    },
    {
      name: "allows a Map or Set field that is only mutated through its methods",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class ChatRoom extends DurableObject<Env> {
          private readonly sentThrough = new Map<number, number>();
          private readonly ackedBytes = new WeakMap<WebSocket, number>();
          private publish(id: number, bytes: number) { this.sentThrough.set(id, bytes); }
          private acknowledge(ws: WebSocket, id: number) { this.ackedBytes.set(ws, this.sentThrough.get(id) ?? 0); }
          async alarm() { this.sentThrough.clear(); }
        }`,
    },
    {
      name: "allows a field assigned and read in the same method only",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Job extends DurableObject {
          private attempts = 0;
          async alarm() {
            this.attempts = 0;
            while (this.attempts < 3) { this.attempts++; if (await this.step()) break; }
          }
        }`,
    },
    {
      name: "allows assigning through a setter and calling methods",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Settings extends DurableObject {
          set limit(value: number) { this.sql.run("UPDATE settings SET lim = ?", value); }
          get limit() { return this.sql.one("SELECT lim FROM settings").lim; }
          update(value: number) { this.limit = value; }
          check(n: number) { return n <= this.limit; }
        }`,
    },
    {
      name: "allows memory-only state in a class that is not a Durable Object",
      code: `
        class Debouncer {
          private pending = false;
          schedule() { this.pending = true; }
          flush() { if (this.pending) this.run(); }
        }`,
    },
    {
      name: "ignores this rebound by a nested function and static members",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Room extends DurableObject {
          static instances = 0;
          static track() { this.instances++; }
          join(socket: WebSocket) { socket.addEventListener("close", function () { this.closed = true; }); }
          leave() { return this.closed; }
        }`,
    },
  ],
  invalid: [
    {
      name: "reports the chat room's purgeDue flag, set by the purge task and trusted by alarm()",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class ChatRoom extends DurableObject<Env> {
          private purgeDue = false;
          override async fetch(request: Request) {
            this.purgeDue = false;
            return this.join(request);
          }
          override async alarm(info?: AlarmInvocationInfo) {
            await this.open().run(info);
            if (!this.purgeDue) return;
            this.purgeDue = false;
            await this.ctx.storage.deleteAll();
          }
          private open() {
            return (this.queue ??= new AlarmQueue(this.ctx, { handlers: { purge: () => this.purgeIfIdle() } }));
          }
          private purgeIfIdle() {
            if (this.openSockets().length > 0) return this.schedulePurge();
            this.purgeDue = true;
          }
          private leave(ws: WebSocket) {
            this.purgeDue = false;
          }
        }`,
      errors: [
        {
          messageId: "memoryOnly",
          data: {
            field: "purgeDue",
            assigned: "fetch() (line 6), alarm() (line 12), purgeIfIdle() (line 20) and 1 more",
            read: "alarm() (line 11)",
          },
          line: 4,
        },
      ],
    },
    {
      name: "reports the rate limiter's expired flag, set by the expire handler and trusted by alarm() after a retry",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class RateLimiter extends DurableObject<Env> {
          private scheduler?: AlarmQueue<{ expire: (payload: null) => void }>;
          private expired = false;
          private get queue() {
            return (this.scheduler ??= new AlarmQueue(this.ctx, {
              sql: this.sql,
              handlers: {
                expire: () => {
                  const expires = this.live();
                  if (expires !== null) this.queue.schedule("expire", null, { at: expires });
                  else this.expired = true;
                },
              },
            }));
          }
          override async alarm(info?: AlarmInvocationInfo) {
            this.expired = false;
            await this.queue.run(info);
            if (this.expired && !this.live()) await this.purge();
          }
        }`,
      errors: [
        {
          messageId: "memoryOnly",
          data: { field: "expired", assigned: "get queue (line 13), alarm() (line 19)", read: "alarm() (line 21)" },
          line: 5,
        },
      ],
    },
    {
      name: "reports a counter incremented in one handler and read in another",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Presence extends DurableObject {
          private joins = 0;
          async webSocketMessage() { this.joins++; }
          stats() { return { joins: this.joins }; }
        }`,
      errors: [
        {
          messageId: "memoryOnly",
          data: { field: "joins", assigned: "webSocketMessage() (line 5)", read: "stats() (line 6)" },
        },
      ],
    },
    {
      name: "reports compound assignment and arrow-function properties as methods",
      code: `
        import { DurableObject as Base } from "cloudflare:workers";
        export class Meter extends Base {
          private used = 0;
          record = (bytes: number) => { this.used += bytes; };
          get remaining() { return QUOTA - this.used; }
        }`,
      errors: [
        {
          messageId: "memoryOnly",
          data: { field: "used", assigned: "record() (line 5)", read: "get remaining (line 6)" },
        },
      ],
    },
    {
      name: "reports a field that is not declared, set in a handler of an old-style object",
      code: `
        export class Session {
          constructor(private state: DurableObjectState, private env: Env) {}
          async fetch(request: Request) { this.user = await authenticate(request); return new Response("ok"); }
          async alarm() { if (this.user) await notify(this.user); }
        }`,
      errors: [
        {
          messageId: "memoryOnly",
          data: { field: "user", assigned: "fetch() (line 4)", read: "alarm() (line 5)" },
          line: 4,
          column: 43,
        },
      ],
    },
    {
      name: "reports a cache that is assigned, not filled with ??=, when it is not marked",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class ChatRoom extends DurableObject<Env> {
          // Rebuilt by open() after a purge or a wake-up.
          private queue: RoomQueue | null = null;
          async alarm() { await this.open().run(); this.queue = null; }
          private open() {
            if (this.queue) return this.queue;
            this.queue = new AlarmQueue(this.ctx, {});
            return this.queue;
          }
        }`,
      errors: [
        {
          messageId: "memoryOnly",
          data: { field: "queue", assigned: "alarm() (line 6), open() (line 9)", read: "open() (line 8)" },
        },
      ],
    },
    {
      name: "reports destructuring assignments and private fields",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Pair extends DurableObject {
          #left = 0;
          #right = 0;
          swap(pair: [number, number]) { [this.#left, this.#right] = pair; }
          sum() { return this.#left + this.#right; }
        }`,
      errors: [
        { messageId: "memoryOnly", data: { field: "#left", assigned: "swap() (line 6)", read: "sum() (line 7)" } },
        { messageId: "memoryOnly", data: { field: "#right", assigned: "swap() (line 6)", read: "sum() (line 7)" } },
      ],
    },
    {
      name: "reports a Set field that is replaced with this.x = outside the constructor",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Room extends DurableObject {
          private banned = new Set<string>();
          ban(names: string[]) { this.banned = new Set([...this.banned, ...names]); }
          join(name: string) { return !this.banned.has(name); }
        }`,
      errors: [
        { messageId: "memoryOnly", data: { field: "banned", assigned: "ban() (line 5)", read: "join() (line 6)" } },
      ],
    },
  ],
});
