/**
 * The HTTP helpers, through the fixture Worker (test/fixtures/worker.ts): validated object names
 * and query strings, JSON bodies, body limits, WebSocket-only routes, and RFC 9457 problem+json
 * for every error, including the ones nobody planned for.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`http://example.com${path}`, init);
}

/** Checks what every error response shares and returns its body. */
async function problemOf(response: Response, status: number): Promise<Problem> {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const problem = (await response.json()) as Problem;
  expect(problem).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  expect(problem.detail).toEqual(expect.any(String));
  return problem;
}

const postJson = (body: string, contentType = "application/json"): RequestInit => ({
  method: "POST",
  headers: { "content-type": contentType },
  body,
});

describe("object names in the path", () => {
  it.each([
    ["letters and digits", "room42"],
    ["dashes and underscores", "my_room-2"],
    ["exactly 64 characters", "x".repeat(64)],
  ])("accepts a name of %s", async (_, name) => {
    const response = await call(`/things/${name}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name });
  });

  it.each([
    ["65 characters", "x".repeat(65)],
    ["a space", "a%20b"],
    ["a dot", "a.b"],
    ["an encoded slash", "a%2Fb"],
    ["non-ASCII letters", "caf%C3%A9"],
    ["an emoji", "%F0%9F%98%80"],
  ])("refuses a name with %s with a 400 that lists the error", async (_, name) => {
    const problem = await problemOf(await call(`/things/${name}`), 400);
    expect(problem.type).toBe("urn:durable-patterns:problem:invalid-path-parameter");
    expect(problem.errors).toEqual([
      { path: "name", message: "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'" },
    ]);
  });

  it("does not route an empty name at all: /things/ is a 404", async () => {
    const problem = await problemOf(await call("/things/"), 404);
    expect(problem.detail).toBe("No route for GET /things/.");
  });
});

describe("query strings", () => {
  it("accepts and coerces a valid value", async () => {
    expect(await (await call("/search?limit=20")).json()).toEqual({ limit: 20 });
  });

  it.each([
    ["missing", ""],
    ["not a number", "?limit=many"],
    ["out of range", "?limit=51"],
  ])("refuses a limit that is %s with a 400 naming the parameter", async (_, search) => {
    const problem = await problemOf(await call(`/search${search}`), 400);
    expect(problem.type).toBe("urn:durable-patterns:problem:invalid-query");
    expect(problem.errors).toEqual([{ path: "limit", message: expect.any(String) }]);
  });
});

describe("JSON bodies", () => {
  it("passes a body that matches the schema", async () => {
    const response = await call("/strict", postJson('{"n":5}'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ n: 5 });
  });

  it("accepts a JSON media type with parameters or a +json suffix", async () => {
    expect((await call("/strict", postJson('{"n":1}', "application/json; charset=utf-8"))).status).toBe(200);
    expect((await call("/strict", postJson('{"n":1}', "application/merge-patch+json"))).status).toBe(200);
  });

  it("refuses malformed JSON with 400", async () => {
    const problem = await problemOf(await call("/strict", postJson('{"n":')), 400);
    expect(problem.detail).toMatch(/JSON/);
  });

  it("refuses a JSON body sent as text/plain with 415 instead of treating it as empty", async () => {
    const problem = await problemOf(await call("/optional", postJson('{"n":1}', "text/plain")), 415);
    expect(problem.type).toBe("urn:durable-patterns:problem:unsupported-media-type");
    expect(problem.detail).toContain('"text/plain"');
  });

  it("refuses a body without any content type with 415", async () => {
    const problem = await problemOf(await call("/strict", { method: "POST", body: '{"n":1}' }), 415);
    expect(problem.detail).toMatch(/application\/json/);
  });

  it("refuses a missing required body with 400", async () => {
    const problem = await problemOf(await call("/strict", { method: "POST" }), 400);
    expect(problem.type).toBe("urn:durable-patterns:problem:missing-body");
  });

  it.each([
    ["a value of the wrong type", '{"n":"5"}', "n"],
    ["a fraction where an integer is expected", '{"n":1.5}', "n"],
    ["a missing field", "{}", "n"],
    ["an unknown field", '{"n":1,"m":2}', ""],
    ["an array instead of an object", "[1]", ""],
  ])("refuses %s with 422 and lists the path", async (_, body, path) => {
    const problem = await problemOf(await call("/strict", postJson(body)), 422);
    expect(problem.type).toBe("urn:durable-patterns:problem:invalid-body");
    expect(problem.errors).toEqual([{ path, message: expect.any(String) }]);
  });

  it("names the unknown field in the message", async () => {
    const problem = await problemOf(await call("/strict", postJson('{"n":1,"surprise":true}')), 422);
    expect(problem.errors?.[0]?.message).toContain("surprise");
  });
});

describe("optional JSON bodies", () => {
  it("applies the schema's defaults when there is no body", async () => {
    expect(await (await call("/optional", { method: "POST" })).json()).toEqual({ n: 7 });
  });

  it("applies the defaults to an empty body sent as application/json", async () => {
    const response = await call("/optional", postJson(""));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ n: 7 });
  });

  it("uses the body when there is one", async () => {
    expect(await (await call("/optional", postJson('{"n":3}'))).json()).toEqual({ n: 3 });
  });
});

describe("body size limits", () => {
  it("accepts a body of exactly the limit", async () => {
    const body = `{"n":8${" ".repeat(64 - 7)}}`; // JSON allows the padding
    expect(new TextEncoder().encode(body).byteLength).toBe(64);
    const response = await call("/strict", postJson(body));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ n: 8 });
  });

  it("refuses a body over the limit with 413 when Content-Length announces it", async () => {
    const problem = await problemOf(
      await call("/strict", postJson(JSON.stringify({ n: 1, pad: "x".repeat(100) }))),
      413,
    );
    expect(problem).toMatchObject({ type: "urn:durable-patterns:problem:body-too-large", maxBytes: 64 });
  });

  it("refuses a streamed body over the limit with 413 while counting its bytes", async () => {
    // A stream has no Content-Length; the limit is enforced on the bytes as they arrive.
    const chunks = ['{"n":1,', `"pad":"${"x".repeat(50)}",`, `"more":"${"y".repeat(50)}"}`];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks.shift();
        if (chunk === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(chunk));
      },
    });
    const response = await call("/strict", { method: "POST", headers: { "content-type": "application/json" }, body });
    const problem = await problemOf(response, 413);
    expect(problem.maxBytes).toBe(64);
  });

  it("accepts a streamed body under the limit", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"n":'));
        controller.enqueue(new TextEncoder().encode("42}"));
        controller.close();
      },
    });
    const response = await call("/strict", { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ n: 42 });
  });
});

describe("errors nobody planned for", () => {
  it("answers an unknown route with a 404 problem", async () => {
    const problem = await problemOf(await call("/nowhere?x=1"), 404);
    expect(problem).toEqual({
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: "No route for GET /nowhere.",
    });
  });

  it("answers an exception with a 500 problem that does not leak its message, and logs it", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await call("/boom");
    expect(log).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(log.mock.calls[0]?.[0]))).toMatchObject({
      message: "unhandled error",
      method: "GET",
      path: "/boom",
      error: { name: "Error", message: "database password is hunter2" },
    });
    log.mockRestore();

    const text = await response.clone().text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("password");
    expect(await problemOf(response, 500)).toEqual({
      type: "about:blank",
      title: "Internal Server Error",
      status: 500,
      detail: "An unexpected error occurred. It has been logged.",
    });
  });
});

describe("WebSocket-only routes", () => {
  it("answers a plain GET with 426 and an Upgrade: websocket header", async () => {
    const response = await call("/rooms/lobby/websocket");
    expect(response.headers.get("upgrade")).toBe("websocket");
    const problem = await problemOf(response, 426);
    expect(problem.type).toBe("urn:durable-patterns:problem:websocket-required");
  });

  it("validates the room name before asking for an upgrade", async () => {
    const response = await call("/rooms/no%20spaces/websocket", { headers: { upgrade: "websocket" } });
    await problemOf(response, 400);
  });

  it("upgrades a request that asks for it", async () => {
    const response = await call("/rooms/lobby-http-test/websocket", { headers: { upgrade: "websocket" } });
    expect(response.status).toBe(101);
    response.webSocket?.accept();
    response.webSocket?.close(1000, "done");
  });
});
