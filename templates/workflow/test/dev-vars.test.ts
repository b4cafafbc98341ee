/**
 * `.dev.vars.example` names every secret the Worker reads (wrangler.jsonc's `secrets.required`),
 * with a local value: `pnpm dev` copies it to `.dev.vars` on its first run, so the API works at once
 * with `Authorization: Bearer dev-token-change-me`.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { devVarsOf } from "../src/shared/testing";
import example from "../.dev.vars.example?raw";
import config from "../wrangler.jsonc?raw";
import worker from "./worker";

describe(".dev.vars.example", () => {
  it("lists every secret wrangler.jsonc requires, and nothing else", () => {
    const required = /"secrets":\s*\{\s*"required":\s*\[([^\]]*)\]/.exec(config)?.[1] ?? "";
    const secrets = [...required.matchAll(/"([A-Z][A-Z0-9_]*)"/g)].map((match) => match[1]);
    expect(secrets).toEqual(["WORKFLOW_TOKEN"]);
    expect(Object.keys(devVarsOf(example))).toEqual(secrets);
  });

  it("runs the Worker as it is: its token opens the API", async () => {
    const vars = devVarsOf(example);
    expect(vars.WORKFLOW_TOKEN).toBe("dev-token-change-me");
    const request = (authorization: string) =>
      worker.fetch(
        new Request("https://workflow.example/api/workflows", { headers: { authorization } }),
        { ...env, ...vars } as Env,
        createExecutionContext(),
      );
    expect((await request("Bearer dev-token-change-me")).status).toBe(200);
    expect((await request("Bearer test-token")).status).toBe(401);
  });
});
