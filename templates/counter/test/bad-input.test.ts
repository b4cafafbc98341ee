/**
 * Every kind of bad input gets a 4xx problem+json (RFC 9457) and leaves the counter unchanged.
 */
import { describe, expect, it } from "vitest";
import { api, json, uniqueName } from "./helpers";

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

/** Seeds a counter at 5, sends the bad request, and checks the refusal and that 5 is still there. */
async function refuses(path: (name: string) => string, init: RequestInit | undefined, status: number) {
  const name = uniqueName();
  await api(`/api/counters/${name}`, json("PUT", { value: 5 }));
  const response = await api(path(name), init);
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const problem = (await response.json()) as Problem;
  expect(problem.status).toBe(status);
  expect(problem.title).toEqual(expect.any(String));
  expect(problem.detail).toEqual(expect.any(String));
  expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: 5 });
  return problem;
}

const increment = (name: string) => `/api/counters/${name}/increment`;

describe("bad names", () => {
  it.each([
    ["65 characters", "x".repeat(65)],
    ["a space", "a%20b"],
    ["a dot", "a.b"],
    ["non-ASCII letters", "z%C3%A4hler"],
    ["a tilde, reserved for shard objects", "a~1"],
  ])("refuses a name with %s with 400", async (_, name) => {
    const response = await api(`/api/counters/${name}/increment`, { method: "POST" });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await response.json()) as Problem;
    expect(problem.errors).toEqual([{ path: "name", message: expect.stringContaining("1 to 64") }]);
  });
});

describe("bad bodies", () => {
  it("refuses malformed JSON with 400", async () => {
    const problem = await refuses(
      increment,
      { method: "POST", headers: { "content-type": "application/json" }, body: "{by: 2" },
      400,
    );
    expect(problem.detail).toMatch(/JSON/);
  });

  it("refuses a JSON body sent as text/plain with 415 instead of ignoring it", async () => {
    const problem = await refuses(
      increment,
      { method: "POST", headers: { "content-type": "text/plain" }, body: '{"by": 100}' },
      415,
    );
    expect(problem.detail).toContain("application/json");
  });

  it.each([
    ["a fraction", { by: 1.5 }],
    ["a string", { by: "2" }],
    ["zero", { by: 0 }],
    ["a negative step", { by: -4 }],
    ["a number beyond 2^53 - 1", { by: 2 ** 53 }],
    ["null", { by: null }],
    ["an unknown field", { by: 1, extra: true }],
    ["an array", [1]],
  ])("refuses a step that is %s with 422", async (_, body) => {
    const problem = await refuses(increment, json("POST", body), 422);
    expect(problem.errors?.length).toBeGreaterThan(0);
  });

  it("refuses PUT without a body with 400", async () => {
    await refuses((name) => `/api/counters/${name}`, { method: "PUT" }, 400);
  });

  it.each([
    ["missing value", {}],
    ["a value beyond 2^53 - 1", { value: 9007199254740992 }],
    ["a value below -(2^53 - 1)", { value: -9007199254740992 }],
    ["a numeric string", { value: "7" }],
  ])("refuses PUT with %s with 422", async (_, body) => {
    const problem = await refuses((name) => `/api/counters/${name}`, json("PUT", body), 422);
    expect(problem.errors?.[0]?.path).toBe("value");
  });

  it("refuses a body over 1 KiB with 413 before reading it", async () => {
    const problem = await refuses(increment, json("POST", { by: 1, pad: "x".repeat(2048) }), 413);
    expect(problem.maxBytes).toBe(1024);
  });
});

describe("leaving the safe-integer range", () => {
  it("refuses an increment past 2^53 - 1 with 422 and keeps the value", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`, json("PUT", { value: Number.MAX_SAFE_INTEGER - 1 }));
    const response = await api(increment(name), json("POST", { by: 2 }));
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({
      type: "urn:durable-patterns:problem:out-of-range",
      value: Number.MAX_SAFE_INTEGER - 1,
      limit: Number.MAX_SAFE_INTEGER,
    });
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: Number.MAX_SAFE_INTEGER - 1 });
  });

  it("refuses a decrement below -(2^53 - 1) with 422", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`, json("PUT", { value: -Number.MAX_SAFE_INTEGER }));
    const response = await api(`/api/counters/${name}/decrement`, { method: "POST" });
    expect(response.status).toBe(422);
    expect(await (await api(`/api/counters/${name}`)).json()).toEqual({ name, value: -Number.MAX_SAFE_INTEGER });
  });

  it("still allows a change that lands exactly on the limit", async () => {
    const name = uniqueName();
    await api(`/api/counters/${name}`, json("PUT", { value: Number.MAX_SAFE_INTEGER - 1 }));
    const response = await api(increment(name), { method: "POST" });
    expect(await response.json()).toEqual({ name, value: Number.MAX_SAFE_INTEGER });
  });
});

describe("unknown routes and methods", () => {
  it("answers 404 problem+json for a path that does not exist", async () => {
    const response = await api("/api/countrs/a");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
  });

  it("answers 404 for a method the route does not have", async () => {
    await refuses((name) => `/api/counters/${name}/increment`, { method: "GET" }, 404);
  });

  it("answers 426 Upgrade Required to a plain GET of the WebSocket route", async () => {
    const response = await api(`/api/counters/${uniqueName()}/websocket`);
    expect(response.status).toBe(426);
    expect(response.headers.get("upgrade")).toBe("websocket");
  });
});
