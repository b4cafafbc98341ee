/**
 * README examples as tests (src/readme-examples.ts): which commands are read, how a shown answer
 * is parsed, and what a placeholder lets through, on small READMEs written here.
 */
import { describe, expect, it } from "vitest";
import {
  ANY,
  exampleLabel,
  expectShown,
  parseShownJson,
  playReadme,
  readmeExamples,
  routesWithoutExample,
  unplayedCommands,
  type ReadmeCall,
} from "../src/readme-examples";

const calls = (markdown: string) => readmeExamples(markdown) as ReadmeCall[];

const fence = "```";
const readme = (body: string) => `# demo\n\n${fence}sh\n${body}\n${fence}\n`;

describe("readmeExamples", () => {
  it("reads method, path, headers and body of each curl against $BASE, joining continued lines", () => {
    const [get, post] = calls(
      readme(
        [
          "BASE=http://localhost:8787",
          "curl $BASE/api/things/a?x=1",
          '# {"name":"a"}',
          "curl -X PUT \"$BASE/api/things/a\" -H 'content-type: application/json' \\",
          '  -H "authorization: Bearer $TOKEN" -d \'{"value":1}\'',
          '# 201 {"name":"a","value":1}',
        ].join("\n"),
      ),
    );
    expect(get).toMatchObject({ line: 5, request: { method: "GET", path: "/api/things/a?x=1", headers: {} } });
    expect(get!.answer).toEqual({ status: 200, headers: {}, body: { name: "a" } });
    expect(post!.request).toEqual({
      method: "PUT",
      path: "/api/things/a",
      headers: { "content-type": "application/json", authorization: "Bearer $TOKEN" },
      body: '{"value":1}',
    });
    expect(post!.answer).toEqual({ status: 201, headers: {}, body: { name: "a", value: 1 } });
  });

  it("skips curls to other hosts, other commands, and blocks that are not shell", () => {
    const text =
      readme("BASE=http://localhost:1\ncurl https://api.cloudflare.com/x\npnpm --filter demo dev\n# {}") +
      `\n${fence}ts\ncurl $BASE/not-shell\n${fence}\n`;
    expect(readmeExamples(text)).toEqual([]);
  });

  it("reads an HTTP status line with headers, (204 No Content), (201) with a body, and no answer at all", () => {
    const examples = calls(
      readme(
        [
          "BASE=http://h",
          "curl -i $BASE/a",
          "# HTTP/1.1 429 Too Many Requests",
          "# Retry-After: 55",
          '# RateLimit: "demo";r=0;t=55',
          "curl -X DELETE $BASE/b",
          "# (204 No Content)",
          "curl -X POST $BASE/c --json '{}'",
          '# (201) {"token":"abc…"}',
          "# Then, an explanation that is not an answer:",
          "curl $BASE/d",
        ].join("\n"),
      ),
    );
    expect(examples.map((e) => e.answer)).toEqual([
      { status: 429, headers: { "retry-after": "55", ratelimit: '"demo";r=0;t=55' }, body: undefined },
      { status: 204, headers: {}, body: undefined },
      { status: 201, headers: {}, body: { token: "abc…" } },
      undefined,
    ]);
    expect(examples[2]!.request.headers).toEqual({ "content-type": "application/json", accept: "application/json" });
  });

  it("reads a body continued over several comment lines until its brackets close", () => {
    const [example] = calls(readme('BASE=http://h\ncurl $BASE/a\n# {"a":1,\n#  "b":[2,\n#  3]}\n# next words'));
    expect(example!.answer!.body).toEqual({ a: 1, b: [2, 3] });
  });
});

describe("exampleLabel", () => {
  it("names a curl by its method and path and a WebSocket session by WS and its path, one line each", () => {
    const markdown = readme(
      "BASE=http://h\ncurl -X DELETE $BASE/a?hard=1\ncurl $BASE/a\nnpx wscat -c ws://h/a/websocket",
    );
    expect(readmeExamples(markdown).map(exampleLabel)).toEqual(["DELETE /a?hard=1", "GET /a", "WS /a/websocket"]);
  });
});

describe("WebSocket sessions", () => {
  it("reads wscat's bare and websocat's commented transcripts, skipping narration", () => {
    const sessions = readmeExamples(
      readme(
        [
          "npx wscat -c ws://localhost:1/api/a/websocket",
          '< {"type":"value","value":0}',
          '> {"type":"increment","by":2}',
          "> ping",
          "< pong",
          'websocat "ws://localhost:1/api/rooms/r/websocket?name=Ada"',
          '# < {"type":"welcome","you":{"id":"5b0c…"},...}',
          "# (the connection drops; she sends it again)",
          "# > hi",
        ].join("\n"),
      ),
    );
    expect(sessions).toEqual([
      {
        kind: "socket",
        line: 4,
        command: "npx wscat -c ws://localhost:1/api/a/websocket",
        path: "/api/a/websocket",
        transcript: [
          { receive: { type: "value", value: 0 } },
          { send: '{"type":"increment","by":2}' },
          { send: "ping" },
          { receive: "pong" },
        ],
      },
      {
        kind: "socket",
        line: 9,
        command: 'websocat "ws://localhost:1/api/rooms/r/websocket?name=Ada"',
        path: "/api/rooms/r/websocket?name=Ada",
        transcript: [{ receive: { type: "welcome", you: { id: "5b0c…" }, "…rest": true } }, { send: "hi" }],
      },
    ]);
  });
});

describe("shown bodies and their placeholders", () => {
  it("parses …, {…}, [...] as any value and ... among members or items as 'and more'", () => {
    expect(parseShownJson('{"a":…,"b":{…},"c":[...],"d":"…","e":[{"x":1},...],"f":{"y":1,...}}')).toEqual({
      a: ANY,
      b: ANY,
      c: ANY,
      d: ANY,
      e: [{ x: 1 }, "…rest"],
      f: { y: 1, "…rest": true },
    });
  });

  it("accepts any value for a placeholder, a string by its start, and more members or items after ...", () => {
    const shown = parseShownJson('{"id":"5b0c…","at":…,"list":[1,...],"more":{"k":1,...}}');
    expect(() =>
      expectShown({ id: "5b0cffee", at: 17, list: [1, 2, 3], more: { k: 1, j: 2 } }, shown, "ok"),
    ).not.toThrow();
  });

  it("refuses a different value, a missing or unshown member, a wrong start and a different length", () => {
    const fails = (actual: unknown, shown: string) => () => expectShown(actual, parseShownJson(shown), "case");
    expect(fails({ a: 2 }, '{"a":1}')).toThrow(/\.a: 2 where the README shows 1/);
    expect(fails({}, '{"a":1}')).toThrow(/\.a: missing/);
    expect(fails({ a: 1, b: 2 }, '{"a":1}')).toThrow(/members the README does not show: b/);
    expect(fails({ id: "ffff" }, '{"id":"5b0c…"}')).toThrow(/does not start with/);
    expect(fails([1, 2], "[1]")).toThrow(/2 items where the README shows 1/);
  });

  it("needs only the same type for a varying member (a random shard, the next fire)", () => {
    expect(() => expectShown({ shard: 3 }, { shard: 11 }, "ok", ["shard"])).not.toThrow();
    expect(() => expectShown({ shard: "3" }, { shard: 11 }, "case", ["shard"])).toThrow(/is not a number/);
  });
});

describe("sections, captured values and what the reader fills in", () => {
  const text = [
    "# demo",
    "",
    "## Open",
    "",
    "```sh",
    "curl $BASE/open",
    "```",
    "",
    "## Tokens",
    "",
    "```sh",
    "BASE=http://h   # with SECRET set",
    'TOKEN=$(curl -s -X POST -H "authorization: Bearer $SECRET" $BASE/tokens | jq -r .token)',
    '# (201) {"token":"abc.…","expiresAt":"…"}',
    'curl -H "authorization: Bearer $TOKEN" $BASE/count',
    '# {"count":1,"detail":"needs a token: ..."}',
    "```",
  ].join("\n");

  it("reads only the section asked for, keeping the README's line numbers", () => {
    const examples = readmeExamples(text, { section: "Tokens" }) as ReadmeCall[];
    expect(examples.map((e) => [e.line, e.request.path])).toEqual([
      [13, "/tokens"],
      [15, "/count"],
    ]);
  });

  it("turns NAME=$(curl … | jq -r .field) into a call whose answer's field is captured", () => {
    const [issue] = readmeExamples(text, { section: "Tokens" }) as ReadmeCall[];
    expect(issue!.capture).toEqual({ name: "TOKEN", field: "token" });
    expect(issue!.request.headers.authorization).toBe("Bearer $SECRET");
    expect(issue!.answer).toMatchObject({ status: 201, body: { token: "abc.…", expiresAt: ANY } });
  });

  it("matches a string shown ending in ... by its start, and a varying path by its type only", () => {
    expect(() =>
      expectShown({ detail: "needs a token: for room x" }, { detail: "needs a token: ..." }, "ok"),
    ).not.toThrow();
    const shown = { you: { id: "5b0c…" }, messages: [{ id: 1 }] };
    expect(() => expectShown({ you: { id: "ffff" }, messages: [{ id: 1 }] }, shown, "ok", ["you.id"])).not.toThrow();
    expect(() => expectShown({ you: { id: "ffff" }, messages: [{ id: 2 }] }, shown, "case", ["you.id"])).toThrow(
      /messages\[0\]\.id: 2/,
    );
  });
});

describe("playing examples", () => {
  const text = [
    "# demo",
    "",
    "```sh",
    "BASE=http://h",
    "curl -i $BASE/a",
    "# HTTP/1.1 200 OK",
    '# RateLimit: "api";r=19;t=1',
    "curl $BASE/b",
    '# {"n":2}',
    "```",
  ].join("\n");
  const answer = (path: string, headers: Record<string, string> = {}) =>
    Promise.resolve(path.endsWith("/a") ? new Response("{}", { headers }) : Response.json({ n: 2 }));

  it("checks a varying header's shape with its numbers free, and runs beforeEach before each example", async () => {
    const order: string[] = [];
    await playReadme(readmeExamples(text), (request) => answer(request.url, { RateLimit: '"api";r=7;t=30' }), {
      varying: ["ratelimit"],
      beforeEach: (example) => void order.push(example.kind === "http" ? example.request.path : example.path),
    });
    expect(order).toEqual(["/a", "/b"]);
  });

  it("refuses a header whose shape differs, and one that differs at all when it does not vary", async () => {
    const play = (value: string, varying: string[]) =>
      playReadme(readmeExamples(text), (request) => answer(request.url, { RateLimit: value }), { varying });
    await expect(play('"api";r=7', ["ratelimit"])).rejects.toThrow(/header ratelimit/);
    await expect(play('"api";r=7;t=30', [])).rejects.toThrow(/header ratelimit/);
  });
});

describe("unplayedCommands", () => {
  const text = [
    "# demo",
    "```sh",
    "BASE=http://h",
    "curl $BASE/a",
    "curl http://localhost:8787/b",
    "```",
    "",
    "```",
    "curl -X POST $BASE/c \\",
    "  -d '{}'",
    "```",
    "",
    "<!-- not run: needs your account's token -->",
    "",
    "```sh",
    'curl "https://api.cloudflare.com/client/v4/x" -H "authorization: Bearer $CF_TOKEN"',
    "```",
    "",
    "## Sessions",
    "```sh",
    "TOKEN=$(curl -s $BASE/tokens | jq -r .token)",
    'websocat "ws://h/a/websocket?token=$TOKEN"',
    "```",
  ].join("\n");

  it("names each curl no test reads: one without $BASE, one in a block that is not sh, one in a section not read", () => {
    expect(unplayedCommands(text, readmeExamples(text.split("## Sessions")[0]!))).toEqual([
      "line 5: curl http://localhost:8787/b",
      "line 9: curl -X POST $BASE/c \\",
      "line 21: TOKEN=$(curl -s $BASE/tokens | jq -r .token)",
      'line 22: websocat "ws://h/a/websocket?token=$TOKEN"',
    ]);
  });

  it("names none when every command is played or in a block marked not run", () => {
    const played = readme("BASE=http://h\ncurl $BASE/a\nnpx wscat -c ws://h/a/websocket");
    expect(unplayedCommands(played, readmeExamples(played))).toEqual([]);
    expect(unplayedCommands(text, readmeExamples(text)).join("\n")).not.toContain("api.cloudflare.com");
  });
});

describe("routesWithoutExample", () => {
  const text = [
    "# demo",
    "```sh",
    "BASE=http://h",
    "curl $BASE/api/things/a",
    "curl -X POST $BASE/api/things/a/increment?by=2",
    "npx wscat -c ws://h/api/things/a/websocket",
    "```",
    "",
    "<!-- not run: it needs a dead letter -->",
    "",
    "```sh",
    "curl -X POST $BASE/api/things/a/dead-letters/1/retry",
    "# 202 {the retry, queued}",
    "npx wscat -c ws://h/api/things/a/feed",
    "< (a frame each time the thing changes)",
    "```",
  ].join("\n");

  it("names each route no example reaches, by method and path, and not middleware", () => {
    const routes = [
      { method: "ALL", path: "/*" },
      { method: "GET", path: "/api/things/:name" },
      { method: "POST", path: "/api/things/:name/increment" },
      { method: "POST", path: "/api/things/:name/decrement" },
      { method: "DELETE", path: "/api/things/:name" },
      { method: "GET", path: "/api/things/:name/websocket" },
      { method: "POST", path: "/api/things/:name/dead-letters/:id/retry" },
    ];
    expect(routesWithoutExample(text, routes)).toEqual([
      "POST /api/things/:name/decrement",
      "DELETE /api/things/:name",
    ]);
  });

  it("counts an example marked not run as shown (its answers and frames not read), and a path's segments and query as they are", () => {
    expect(
      routesWithoutExample(text, [
        { method: "POST", path: "/api/things/:name/dead-letters/:id/retry" },
        { method: "GET", path: "/api/things/:name/feed" },
        { method: "GET", path: "/api/things/:name/history" },
        { method: "POST", path: "/api/things/a/increment" },
      ]),
    ).toEqual(["GET /api/things/:name/history"]);
  });
});
