/**
 * `.dev.vars.example` names every secret the Worker reads: `wrangler dev` users copy it to
 * `.dev.vars`, and a Deploy to Cloudflare button prompts for each name in it.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { devVarsOf } from "../src/shared/testing";
import example from "../.dev.vars.example?raw";
import source from "../src/index.ts?raw";
import worker from "../src/index";
import { uniqueRoom } from "./helpers";

describe(".dev.vars.example", () => {
  it("lists every secret the Worker reads (the keys of its Secrets interface), and nothing else", () => {
    const declared = /interface Secrets \{([^}]*)\}/.exec(source)?.[1] ?? "";
    const secrets = [...declared.matchAll(/^\s*([A-Z][A-Z0-9_]*)\??:/gm)].map((match) => match[1]);
    expect(secrets).toEqual(["CHAT_SECRET", "CHAT_ISSUER_SECRET"]);
    expect(Object.keys(devVarsOf(example))).toEqual(secrets);
  });

  it("runs the Worker as it is: its CHAT_SECRET is empty, which leaves rooms open", async () => {
    const vars = devVarsOf(example);
    expect(vars).toEqual({ CHAT_SECRET: "", CHAT_ISSUER_SECRET: "" });
    const room = uniqueRoom();
    const response = await worker.fetch(
      new Request(`https://chat.example/api/rooms/${room}/count`),
      { ...env, ...vars } as Env,
      createExecutionContext(),
    );
    expect(await response.json()).toEqual({ room, count: 0 });
  });
});
