import rule from "../src/rules/no-await-between-read-and-write.js";
import { ruleTester } from "./rule-tester.ts";

ruleTester.run("no-await-between-read-and-write", rule, {
  valid: [
    {
      name: "allows get then put with only storage awaits between (the input gate holds)",
      code: `
        async function increment(storage: DurableObjectStorage) {
          const value = (await storage.get<number>("count")) ?? 0;
          await storage.put("count", value + 1);
          return value + 1;
        }`,
    },
    {
      name: "allows one atomic SQL statement",
      code: `
        class Counter { add(delta: number) {
          return this.ctx.storage.sql.exec("UPDATE counter SET value = value + ? RETURNING value", delta).one();
        } }`,
    },
    {
      name: "allows synchronous SQL read-compute-write, then an await after the write",
      code: `
        async function checkout(this: Cart, id: string) {
          const row = this.sql.one("SELECT qty FROM items WHERE id = ?", id);
          this.sql.run("UPDATE items SET qty = ? WHERE id = ?", row.qty - 1, id);
          await fetch("https://payments.example/charge", { method: "POST" });
        }`,
    },
    {
      name: "allows re-reading after the await before writing",
      code: `
        async function refresh(storage: DurableObjectStorage) {
          const token = await fetch("https://auth.example/token").then((r) => r.text());
          const count = (await storage.get<number>("refreshes")) ?? 0;
          await storage.put({ token, refreshes: count + 1 });
        }`,
    },
    {
      name: "allows an await between when the write does not depend on the read",
      code: `
        async function log(storage: DurableObjectStorage) {
          const settings = await storage.get("settings");
          const response = await fetch("https://example.com");
          await storage.put("last-status", response.status);
          return settings;
        }`,
    },
    {
      name: "allows the sequence inside blockConcurrencyWhile, where nothing else can run",
      code: `
        class Room { constructor(ctx: DurableObjectState) {
          ctx.blockConcurrencyWhile(async () => {
            const version = await ctx.storage.get<number>("version");
            const schema = await fetch("https://schemas.example/latest").then((r) => r.json());
            await ctx.storage.put("version", Math.max(version ?? 0, schema.version));
          });
        } }`,
    },
  ],
  invalid: [
    {
      name: "reports the counter that reads, awaits a fetch, then writes the stale value back",
      code: `
        import { DurableObject } from "cloudflare:workers";
        export class Counter extends DurableObject {
          async increment() {
            let value = (await this.ctx.storage.get<number>("value")) ?? 0;
            value += 1;
            await fetch("https://audit.example/log", { method: "POST", body: String(value) });
            await this.ctx.storage.put("value", value);
            return value;
          }
        }`,
      errors: [{ messageId: "window", data: { read: 'the value of "value"', awaited: "fetch(...)" } }],
    },
    {
      name: "reports a balance held across an RPC call to another object",
      code: `
        async function transfer(this: Account, amount: number, to: string) {
          const row = this.ctx.storage.sql.exec("SELECT balance FROM account WHERE id = 1").one();
          const balance = row.balance as number;
          await this.env.ACCOUNT.getByName(to).deposit(amount);
          this.ctx.storage.sql.exec("UPDATE account SET balance = ? WHERE id = 1", balance - amount);
        }`,
      errors: [
        {
          messageId: "window",
          data: { read: "the SELECT on account", awaited: "this.env.ACCOUNT.getByName(to).deposit(...)" },
        },
      ],
    },
    {
      name: "reports check-then-act on the same key even when the value is not reused",
      code: `
        async function sendWelcome(storage: DurableObjectStorage, email: string) {
          if (await storage.get("welcomed")) return;
          await fetch("https://mail.example/send", { method: "POST", body: email });
          await storage.put("welcomed", true);
        }`,
      errors: [{ messageId: "window", data: { read: 'the value of "welcomed"', awaited: "fetch(...)" } }],
    },
    {
      name: "reports a value derived from the read through other variables",
      code: `
        async function bump(storage: DurableObjectStorage) {
          const { hits } = (await storage.get<{ hits: number }>("stats")) ?? { hits: 0 };
          const next = { hits: hits + 1 };
          await new Promise((resolve) => setTimeout(resolve, 10));
          await storage.put("snapshot", next);
        }`,
      errors: [{ messageId: "window" }],
    },
    {
      name: "reports a SQL read and write on the same table across a for await loop",
      code: `
        async function importAll(this: Store, source: AsyncIterable<string>) {
          const seen = this.sql.all("SELECT id FROM imported LIMIT 100");
          for await (const id of source) this.pending.push(id);
          this.sql.run("DELETE FROM imported WHERE id NOT IN (SELECT id FROM keep)");
        }`,
      errors: [{ messageId: "window" }],
    },
  ],
});
