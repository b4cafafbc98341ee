import rule from "../src/rules/light-constructor.js";
import { ruleTester } from "./rule-tester.ts";

ruleTester.run("light-constructor", rule, {
  valid: [
    {
      name: "allows synchronous migrations and cheap setup (the counter's constructor)",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Counter extends DurableObject<Env> {
          constructor(ctx: DurableObjectState, env: Env) {
            super(ctx, env);
            this.sql = new Sql(ctx.storage);
            migrate(ctx.storage, migrations);
            answerPings(ctx);
          }
        }`,
    },
    {
      name: "allows async storage setup inside blockConcurrencyWhile",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Settings extends DurableObject {
          constructor(ctx: DurableObjectState, env: Env) {
            super(ctx, env);
            void ctx.blockConcurrencyWhile(async () => {
              this.limits = (await ctx.storage.get("limits")) ?? DEFAULT_LIMITS;
            });
          }
        }`,
    },
    {
      name: "allows a bounded query in the constructor",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Room extends DurableObject {
          constructor(ctx: DurableObjectState, env: Env) {
            super(ctx, env);
            this.topic = ctx.storage.sql.exec("SELECT topic FROM room WHERE id = 1").one().topic;
          }
        }`,
    },
    {
      name: "allows async work in other methods",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Feed extends DurableObject {
          async refresh() { const rows = this.ctx.storage.sql.exec("SELECT * FROM items").toArray(); await fetch(url); return rows; }
        }`,
    },
  ],
  invalid: [
    {
      name: "reports loading state with .then() outside blockConcurrencyWhile",
      code: `
        export class Session {
          constructor(private state: DurableObjectState, private env: Env) {
            state.storage.get("user").then((user) => { this.user = user; });
          }
        }`,
      errors: [{ messageId: "unblocked", data: { what: 'state.storage.get("user").then()' } }],
    },
    {
      name: "reports an async IIFE that initialises the object",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Cache extends DurableObject {
          constructor(ctx: DurableObjectState, env: Env) {
            super(ctx, env);
            (async () => { this.entries = await ctx.storage.list({ limit: 100 }); })();
          }
        }`,
      errors: [{ messageId: "unblocked", data: { what: "An async function called right away" } }],
    },
    {
      name: "reports fetching remote config in the constructor, even inside blockConcurrencyWhile",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Tenant extends DurableObject {
          constructor(ctx: DurableObjectState, env: Env) {
            super(ctx, env);
            ctx.blockConcurrencyWhile(async () => {
              this.config = await (await fetch(env.CONFIG_URL)).json();
            });
          }
        }`,
      errors: [{ messageId: "network", data: { what: "fetch()" } }],
    },
    {
      name: "reports SELECT * without WHERE or LIMIT: a full-table load on every wake",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class ChatRoom extends DurableObject {
          constructor(ctx: DurableObjectState, env: Env) {
            super(ctx, env);
            this.messages = ctx.storage.sql.exec("SELECT * FROM messages ORDER BY id").toArray();
          }
        }`,
      errors: [{ messageId: "fullTable", data: { what: "ctx.storage.sql.exec(...)" } }],
    },
    {
      name: "reports storage.list() without a limit, even inside blockConcurrencyWhile",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Inventory extends DurableObject {
          constructor(ctx: DurableObjectState, env: Env) {
            super(ctx, env);
            ctx.blockConcurrencyWhile(async () => { this.items = await ctx.storage.list(); });
          }
        }`,
      errors: [{ messageId: "fullTable", data: { what: "ctx.storage.list(...)" } }],
    },
  ],
});
