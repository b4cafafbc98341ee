/**
 * The test-side helpers the apps share (src/testing.ts) that make claims of their own: what an
 * object keeps, the line of a successful alarm run, and what bearer auth must refuse. Each is
 * shown passing on what is right and failing on what is wrong, so an app's test that uses it can
 * fail.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { Hono, type MiddlewareHandler } from "hono";
import { describe, expect, it } from "vitest";
import { requireBearer } from "../src/bearer";
import { onError } from "../src/http";
import {
  alarmRunLine,
  expectFailsClosed,
  expectUnauthorized,
  expectWrongTokensRefused,
  nearMissAuthorizations,
  storageOf,
  succeededRunLine,
  uniqueName,
} from "../src/testing";

interface Bindings {
  TOKEN?: string;
}

const TOKEN = "test-token";
const bearer = requireBearer<Bindings>({ secret: "TOKEN", realm: "demo" });

/** A test client of a bare router behind `middleware`, with the token configured. */
function client(middleware: MiddlewareHandler<{ Bindings: Bindings }>) {
  const app = new Hono<{ Bindings: Bindings }>().use(middleware).get("*", (c) => c.text("open"));
  app.onError(onError);
  return (path: string, init: RequestInit = {}) => Promise.resolve(app.request(path, init, { TOKEN }));
}

describe("storageOf", () => {
  it("lists an object's own tables and its alarm, and nothing once it deleted itself", async () => {
    const stub = env.STORAGE_FIXTURE.getByName(uniqueName("stored"));
    await stub.exec("CREATE TABLE things (name TEXT)");
    expect(await storageOf(stub)).toEqual({ tables: ["things"], alarm: null });
    await runInDurableObject(stub, (_fixture, state) => state.storage.deleteAll());
    expect(await storageOf(stub)).toEqual({ tables: [], alarm: null });
  });
});

describe("succeededRunLine", () => {
  it("matches the line of a run whose tasks all succeeded, and not one with a failed task", () => {
    const written = alarmRunLine("demo", "a", { ran: 2, succeeded: 2, failed: 0, deadLettered: 0, nextAlarm: 5 });
    const line = { ...written.line, ms: 3, rowsRead: 4, rowsWritten: 1 };
    expect({ console: "log", line }).toEqual(succeededRunLine("demo", "a", { ran: 2 }));
    expect({ console: "log", line: { ...line, succeeded: 1, failed: 1 } }).not.toEqual(
      succeededRunLine("demo", "a", { ran: 2 }),
    );
  });
});

describe("bearer auth expectations", () => {
  it("tries another token, a longer one, a prefix, one byte off, one byte more and another scheme", () => {
    expect(nearMissAuthorizations(TOKEN)).toEqual([
      "Bearer wrong-token",
      "Bearer test-token-but-longer",
      "Bearer test-toke",
      "Bearer test-tokeN",
      "Bearer test-tokén",
      "Basic dGVzdC10b2tlbg==",
    ]);
  });

  it("pass on requireBearer: no token, a wrong one, the token in the query string, and an unset secret", async () => {
    const api = client(bearer);
    await expectUnauthorized(await api("/", { headers: { authorization: "" } }), "demo");
    await expectWrongTokensRefused(api, "/things", TOKEN, "demo");
    await expectFailsClosed(bearer, {});
  });

  it("fail on a check that lets a prefix of the token in, and on one that is open when the secret is unset", async () => {
    const prefixCompare: MiddlewareHandler<{ Bindings: Bindings }> = async (c, next) => {
      const presented = c.req.header("authorization")?.replace(/^Bearer /, "") ?? "";
      if (presented === "" || !c.env.TOKEN?.startsWith(presented)) return bearer(c, next);
      await next();
    };
    await expect(expectWrongTokensRefused(client(prefixCompare), "/things", TOKEN, "demo")).rejects.toThrow(
      /Bearer test-toke\b/,
    );
    const openWhenUnset: MiddlewareHandler<{ Bindings: Bindings }> = async (c, next) =>
      c.env.TOKEN ? bearer(c, next) : next();
    await expect(expectFailsClosed(openWhenUnset, {})).rejects.toThrow();
  });
});
