import { Linter } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";
import plugin from "../src/index.js";

describe("the recommended config", () => {
  it("turns on every rule as an error under the durable/ prefix", () => {
    expect(plugin.configs.recommended.rules).toEqual({
      "durable/light-constructor": "error",
      "durable/no-await-between-read-and-write": "error",
      "durable/no-memory-only-state": "error",
      "durable/no-timers-in-durable-object": "error",
      "durable/no-websocket-accept-in-durable-object": "error",
      "durable/set-alarm-only-in-alarm-queue": "error",
    });
  });

  it("turns on exactly the rules whose docs say recommended, no-memory-only-state included", () => {
    const recommended = Object.entries(plugin.rules)
      .filter(([, rule]) => rule.meta?.docs?.recommended === true)
      .map(([name]) => `durable/${name}`);
    expect(Object.keys(plugin.configs.recommended.rules ?? {})).toEqual(recommended);
    expect(plugin.rules).toHaveProperty("no-memory-only-state");
    expect(plugin.configs.recommended.rules).toHaveProperty("durable/no-memory-only-state", "error");
  });

  it("reports each trap in one file of a flat config with typescript-eslint's parser", () => {
    const linter = new Linter({ configType: "flat" });
    const messages = linter.verify(
      `
      import { DurableObject } from "cloudflare:workers";
      export class Room extends DurableObject<Env> {
        constructor(ctx: DurableObjectState, env: Env) {
          super(ctx, env);
          ctx.storage.get("topic").then((topic) => { this.topic = topic; });
        }
        async fetch() {
          const [client, server] = Object.values(new WebSocketPair());
          server.accept();
          setTimeout(() => this.close(), 60_000);
          await this.ctx.storage.setAlarm(Date.now() + 60_000);
          const joins = (await this.ctx.storage.get<number>("joins")) ?? 0;
          await fetch("https://analytics.example/join");
          await this.ctx.storage.put("joins", joins + 1);
          return new Response(null, { status: 101, webSocket: client });
        }
      }`,
      [{ files: ["**/*.ts"], languageOptions: { parser: tseslint.parser } }, plugin.configs.recommended],
      "src/room-object.ts",
    );
    expect(messages.map((message) => message.ruleId)).toEqual([
      "durable/light-constructor",
      "durable/no-websocket-accept-in-durable-object",
      "durable/no-timers-in-durable-object",
      "durable/set-alarm-only-in-alarm-queue",
      "durable/no-await-between-read-and-write",
    ]);
  });

  it("links every rule to its documentation file, which exists", async () => {
    const { access } = await import("node:fs/promises");
    const { fileURLToPath } = await import("node:url");
    for (const rule of Object.values(plugin.rules)) {
      const url = rule.meta?.docs?.url ?? "";
      expect(url).toMatch(/\/docs\/rules\/[a-z-]+\.md$/);
      await expect(access(fileURLToPath(url))).resolves.toBeUndefined();
    }
  });
});
