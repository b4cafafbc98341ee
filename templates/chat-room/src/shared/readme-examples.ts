// Vendored from durable-patterns packages/shared/src/readme-examples.ts by `pnpm starter`.
// A plain copy: this project owns it now, edit it freely; upstream changes are not picked up.
/**
 * Tests only: the `curl` examples of a README, read as requests with their shown answers, so a
 * test can send each one to the app and assert what the README says (examples cannot drift).
 *
 * What a README writes, in a fenced `sh` block:
 *
 * ```sh
 * BASE=http://localhost:8787                 # NAME=value lines set variables for what follows
 * curl -X POST $BASE/api/things/a -H 'content-type: application/json' -d '{"by":5}'
 * # {"name":"a","value":5}                   # the answer: status 200 unless shown
 * curl -i $BASE/api/things/a                 # -i: the status line and the headers shown are checked
 * # HTTP/1.1 429 Too Many Requests
 * # Retry-After: 55
 * curl -X DELETE $BASE/api/things/a/1
 * # (204 No Content)                         # also `# 201 {...}` and `# (201) {...}`
 * ```
 *
 * A block right after a `<!-- not run: <why> -->` line is skipped (an example that needs what a
 * test cannot have, such as an identity provider's signed token).
 *
 * A WebSocket session (`websocat "ws://…"` or `npx wscat -c ws://…`) is followed by its transcript:
 * `> text` sent, `< text` received, each line bare or after `# `; other comment lines are skipped.
 *
 * In a shown body, `"…"` (or `…`, `{…}`, `[...]`) stands for any value, a string ending in `…` for
 * any string with that start, and `...` among an object's members or an array's items for "and
 * more". A body may continue over several `# ` lines until its brackets close.
 */
import { expect } from "vitest";
import { socketClient, type SocketClient } from "./testing";

export interface ReadmeRequest {
  method: string;
  /** The path and query (the README's origin dropped). */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface ReadmeAnswer {
  status: number;
  /** Header lines shown (names lower-cased), after an `HTTP/1.1 …` line. */
  headers: Record<string, string>;
  /** The shown body, parsed, with the placeholders above; undefined when none is shown. */
  body?: unknown;
}

export interface ReadmeCall {
  kind: "http";
  /** 1-based line of the `curl` in the README, for failure messages. */
  line: number;
  command: string;
  request: ReadmeRequest;
  /** Undefined when the README shows no answer for this command. */
  answer?: ReadmeAnswer;
  /** `NAME=$(curl … | jq -r .field)`: the answer's `field` becomes `$NAME` for what follows. */
  capture?: { name: string; field: string };
}

export type ReadmeExample = ReadmeCall | ReadmeSession;

export interface ReadmeSession {
  kind: "socket";
  line: number;
  command: string;
  /** The path and query of the WebSocket URL. */
  path: string;
  /** In order: a frame sent (as written) or a frame received (parsed like a shown body, or text). */
  transcript: ({ send: string } | { receive: unknown })[];
}

/** Any value (`"…"`, `…`, `{…}`, `[...]` in a README). */
export const ANY = "…";
/** "And more" among an object's members or an array's items (`...`). */
const REST = "…rest";

/**
 * Every `curl` of the README's `sh`/`bash` blocks whose URL starts with `$BASE` (or `origin`).
 * Blocks marked `<!-- not run: … -->` are left out unless `notRun` asks for them (to see what the
 * README shows, rather than what a test can play).
 */
export function readmeExamples(
  markdown: string,
  options: { base?: string; section?: string; notRun?: boolean } = {},
): ReadmeExample[] {
  const baseName = options.base ?? "BASE";
  const examples: ReadmeExample[] = [];
  const lines = options.section ? sectionLines(markdown, options.section) : markdown.split("\n");
  let inBlock = false;
  // In a block marked not run (read with `notRun`), shown answers and frames are not parsed: they
  // are never checked, and may be narration rather than JSON.
  let shownOnly = false;
  const vars: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (/^```/.test(raw)) {
      shownOnly = !inBlock && markedNotRun(lines, i);
      inBlock = !inBlock && /^```(sh|bash|shell)\s*$/.test(raw) && (options.notRun || !shownOnly);
      continue;
    }
    if (!inBlock) continue;
    const start = i;
    let command = raw;
    while (command.endsWith("\\") && i + 1 < lines.length) command = command.slice(0, -1) + " " + lines[++i]!.trim();
    const assignment = /^([A-Z_][A-Z0-9_]*)=(\S+)\s*(#.*)?$/.exec(command);
    if (assignment) {
      vars[assignment[1]!] = unquote(assignment[2]!);
      continue;
    }
    const session = /^(?:websocat|(?:npx )?wscat -c) +["']?(wss?:\/\/[^\s"']+)/.exec(command);
    if (session) {
      const transcript: ReadmeSession["transcript"] = [];
      while (i + 1 < lines.length && /^(# )?[<>] |^# /.test(lines[i + 1]!)) {
        const frame = /^(?:# )?([<>]) (.*)$/.exec(lines[++i]!);
        if (!frame || shownOnly) continue; // narration, or never played
        transcript.push(frame[1] === ">" ? { send: frame[2]! } : { receive: parseFrame(frame[2]!) });
      }
      const url = new URL(shellWords(command, vars).find((w) => /^wss?:\/\//.test(w))!);
      examples.push({ kind: "socket", line: start + 1, command, path: url.pathname + url.search, transcript });
      continue;
    }
    const captured = /^([A-Z_][A-Z0-9_]*)=\$\((curl .*?)(?: *\| *jq -r \.(\w+))?\)$/.exec(command);
    const curl = captured ? captured[2]! : command;
    if (!curl.startsWith("curl ")) continue;
    const words = shellWords(curl, vars);
    const request = curlRequest(words, vars[baseName] ?? "$" + baseName);
    if (!request) continue;
    const answerLines: string[] = [];
    while (i + 1 < lines.length && /^# ?/.test(lines[i + 1]!) && !/^```/.test(lines[i + 1]!)) {
      const text = lines[i + 1]!.replace(/^# ?/, "");
      if (!answerLines.length && !/^(HTTP\/|\(\d{3}|\d{3}\b|[{[])/.test(text)) break;
      if (answerLines.length && !continues(answerLines)) break;
      answerLines.push(text);
      i++;
    }
    examples.push({
      kind: "http",
      line: start + 1,
      command,
      request,
      answer: answerLines.length && !shownOnly ? parseAnswer(answerLines) : undefined,
      ...(captured?.[3] ? { capture: { name: captured[1]!, field: captured[3] } } : {}),
    });
  }
  return examples;
}

/**
 * The commands of a README that no test plays: each `curl`, `websocat` or `wscat` line of a fenced
 * block (of any language) that is not one of `played` and not in a block marked
 * `<!-- not run: <why> -->`. A README test asserts there are none, so that an example dropped by a
 * typo (no `$BASE`, a block that is not `sh`) or standing in a section the test does not read fails
 * the test instead of going unplayed, and every command left out says why in the README itself.
 */
export function unplayedCommands(markdown: string, played: ReadmeExample[]): string[] {
  const lines = markdown.split("\n");
  const playedLines = new Set(played.map((example) => example.line));
  const unplayed: string[] = [];
  let block: { notRun: boolean } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (/^```/.test(raw)) {
      block = block ? null : { notRun: markedNotRun(lines, i) };
      continue;
    }
    const start = i;
    while (lines[i]!.endsWith("\\") && i + 1 < lines.length) i++;
    if (block && !block.notRun && COMMAND.test(raw) && !playedLines.has(start + 1)) {
      unplayed.push(`line ${start + 1}: ${raw.trim()}`);
    }
  }
  return unplayed;
}

/**
 * The routes of a Hono app (its `routes`) that the README shows no example of: no `curl`,
 * `websocat` or `wscat` of the README reaches them, counting examples marked not run, which still
 * show the route. Middleware (method `ALL`) is not a route. Answers `GET /api/things/:name` lines,
 * so a route added without documentation fails the app's README test.
 */
export function routesWithoutExample(markdown: string, routes: readonly { method: string; path: string }[]): string[] {
  const shown = readmeExamples(markdown, { notRun: true }).map((example) =>
    example.kind === "http"
      ? { method: example.request.method, path: example.request.path.split("?")[0]! }
      : { method: "GET", path: example.path.split("?")[0]! },
  );
  const missing = new Set<string>();
  for (const route of routes) {
    if (route.method === "ALL") continue;
    const pattern = new RegExp(`^${route.path.split("/").map(routeSegment).join("/")}$`);
    if (!shown.some((example) => example.method === route.method && pattern.test(example.path))) {
      missing.add(`${route.method} ${route.path}`);
    }
  }
  return [...missing];
}

/** A segment of a Hono path as a pattern: `:name` (and `:name{…}`) any one segment, `*` anything. */
function routeSegment(segment: string): string {
  if (segment.startsWith(":")) return "[^/]+";
  if (segment === "*") return ".*";
  return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A line that runs a request: `curl …`, `NAME=$(curl …)`, `websocat …`, `wscat …`, `npx wscat …`. */
const COMMAND = /^\s*(?:[A-Z_][A-Z0-9_]*=\$\()?(?:curl|websocat|wscat|npx wscat)\s/;

/** Whether the fenced block opening at `fence` follows a `<!-- not run: <why> -->` line. */
function markedNotRun(lines: string[], fence: number): boolean {
  return /^<!-- not run: .+-->$/.test(lines.slice(0, fence).findLast((l) => l.trim() !== "") ?? "");
}

/**
 * One line naming an example, `POST /api/things/a` for a curl and `WS /api/things/a/websocket` for
 * a WebSocket session: how a test that acts before one example in particular (a clock to move, a
 * state to set up) finds it.
 */
export function exampleLabel(example: ReadmeExample): string {
  return example.kind === "http" ? `${example.request.method} ${example.request.path}` : `WS ${example.path}`;
}

/** Sends the example's request to `fetch` (the app's Worker) and asserts the README's answer. */
export async function expectReadmeAnswer(
  example: ReadmeCall,
  fetch: (request: Request) => Promise<Response>,
  options: PlayOptions = {},
): Promise<Response> {
  const fill = (text: string) => substitute(text, options.vars ?? {});
  const { method, path, headers, body } = example.request;
  const filled = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, fill(v)]));
  const response = await fetch(
    new Request(`http://example.com${fill(path)}`, {
      method,
      headers: { ...filled, ...options.headers },
      body: body === undefined ? undefined : fill(body),
    }),
  );
  const where = `README line ${example.line}: ${example.command}`;
  const answer = example.answer;
  if (!answer) return response;
  const text = await response.clone().text();
  expect(response.status, `${where}\n${text}`).toBe(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) {
    const actual = response.headers.get(name);
    if ((options.varying ?? []).includes(name)) {
      // A varying header keeps its shape, its numbers free: `"api";r=19;t=1` matches `"api";r=19;t=7`.
      const shape = new RegExp(`^${value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\d+/g, "\\d+")}$`);
      expect(actual, `${where} (header ${name})`).toMatch(shape);
    } else expectShown(actual, value, `${where} (header ${name})`, options.varying ?? []);
  }
  if (answer.body !== undefined) {
    expectShown(JSON.parse(text), answer.body, where, options.varying ?? []);
  }
  return response;
}

/**
 * Plays the examples in order against the app: each call's answer asserted, each session's
 * transcript played, its socket left open for what follows. Returns the open sockets.
 */
export async function playReadme(
  examples: ReadmeExample[],
  fetch: (request: Request) => Promise<Response>,
  options: PlayOptions = {},
): Promise<SocketClient[]> {
  const sockets: SocketClient[] = [];
  const vars = { ...options.vars };
  for (const [index, example] of examples.entries()) {
    await options.beforeEach?.(example, index);
    if (example.kind === "socket") {
      sockets.push(await playReadmeSession(example, fetch, { ...options, vars }));
      continue;
    }
    const response = await expectReadmeAnswer(example, fetch, { ...options, vars });
    if (example.capture) {
      const value = ((await response.json()) as Record<string, unknown>)[example.capture.field];
      vars[example.capture.name] = String(value);
    }
  }
  return sockets;
}

export interface PlayOptions {
  /** Headers added to every request (a token the README leaves to the reader). */
  headers?: Record<string, string>;
  /** Values of the `$NAME`s the README leaves to the reader (a secret); captured ones are added. */
  vars?: Record<string, string>;
  /**
   * Members whose value depends on time or chance (a random shard, the next fire): only their type
   * is checked. A bare name matches that member anywhere; `you.id` or `present[].id` one path.
   * A header named here (lower case) must keep its shown shape, any numbers in it free.
   */
  varying?: string[];
  /** Runs before each example (e.g. to set an object's clock to the instant the README shows). */
  beforeEach?: (example: ReadmeExample, index: number) => void | Promise<void>;
}

/**
 * Opens the session's WebSocket through `fetch` and plays its transcript: sends each `>` frame and
 * asserts each `<` frame against the next message. Returns the client, still open, so the
 * examples after it see the connection (presence, counts).
 */
export async function playReadmeSession(
  session: ReadmeSession,
  fetch: (request: Request) => Promise<Response>,
  options: PlayOptions = {},
): Promise<SocketClient> {
  const path = substitute(session.path, options.vars ?? {});
  const client = await socketClient(
    await fetch(new Request(`http://example.com${path}`, { headers: { upgrade: "websocket", ...options.headers } })),
  );
  for (const [i, frame] of session.transcript.entries()) {
    if ("send" in frame) client.send(frame.send);
    else
      expectShown(await client.next(), frame.receive, `README line ${session.line}, frame ${i + 1}`, options.varying);
  }
  return client;
}

/**
 * Whether `actual` is what the README shows: equal, except where it shows a placeholder; a key
 * named in `varying` (a random shard, the next fire of a cron) needs only a value of the same type.
 */
export function expectShown(actual: unknown, shown: unknown, where: string, varying: string[] = []): void {
  const mismatch = difference(actual, shown, varying, "");
  expect(mismatch, `${where}\nactual: ${JSON.stringify(actual)}`).toBeNull();
}

function difference(actual: unknown, shown: unknown, varying: string[], path: string): string | null {
  if (shown === ANY) return null;
  const start = typeof shown === "string" ? /^(.*?)(…|\.\.\.)$/s.exec(shown)?.[1] : undefined;
  if (start !== undefined && typeof actual === "string") {
    return actual.startsWith(start) ? null : `${path}: "${actual}" does not start with "${shown}"`;
  }
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return `${path}: expected an array`;
    const rest = shown.indexOf(REST);
    const listed = rest === -1 ? shown : shown.slice(0, rest);
    if (rest === -1 ? actual.length !== shown.length : actual.length < listed.length) {
      return `${path}: ${actual.length} items where the README shows ${rest === -1 ? "" : "at least "}${listed.length}`;
    }
    for (const [i, item] of listed.entries()) {
      const d = difference(actual[i], item, varying, `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (shown !== null && typeof shown === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return `${path}: expected an object`;
    const entries = Object.entries(shown).filter(([k]) => k !== REST);
    const partial = REST in shown;
    for (const [key, value] of entries) {
      if (!(key in actual)) return `${path}.${key}: missing`;
      const got = (actual as Record<string, unknown>)[key];
      if (isVarying(`${path}.${key}`, varying)) {
        if (typeof got !== typeof value) return `${path}.${key}: ${JSON.stringify(got)} is not a ${typeof value}`;
        continue;
      }
      const d = difference(got, value, varying, `${path}.${key}`);
      if (d) return d;
    }
    if (!partial) {
      const extra = Object.keys(actual).filter((k) => !(k in shown));
      if (extra.length) return `${path}: members the README does not show: ${extra.join(", ")}`;
    }
    return null;
  }
  return Object.is(actual, shown)
    ? null
    : `${path}: ${JSON.stringify(actual)} where the README shows ${JSON.stringify(shown)}`;
}

function isVarying(path: string, varying: string[]): boolean {
  const general = path.replace(/\[\d+\]/g, "[]");
  return varying.some((entry) => general === `.${entry}` || general.endsWith(`.${entry}`));
}

function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (all, name: string) => vars[name] ?? all);
}

/** The lines under the heading `title` (any level), up to the next heading of that level or above. */
function sectionLines(markdown: string, title: string): string[] {
  const lines = markdown.split("\n");
  // A heading is a `#` line outside fenced blocks (inside them, `# ` starts a shell comment).
  let fenced = false;
  const levels = lines.map((line) => {
    if (/^```/.test(line)) fenced = !fenced;
    return !fenced && /^#+ /.test(line) ? /^#+/.exec(line)![0].length : 0;
  });
  const start = lines.findIndex((l, i) => levels[i]! > 0 && l.replace(/^#+ /, "").trim() === title);
  if (start === -1) throw new Error(`the README has no heading "${title}"`);
  const end = levels.findIndex((level, i) => i > start && level > 0 && level <= levels[start]!);
  // Blank lines before the section keep every example's line number that of the README.
  return [...lines.slice(0, start).map(() => ""), ...lines.slice(start, end === -1 ? undefined : end)];
}

function continues(lines: string[]): boolean {
  const first = lines[0]!;
  if (/^HTTP\//.test(first)) {
    // Header lines, then possibly a body.
    const last = lines[lines.length - 1]!;
    return /^[\w-]+: /.test(last) || /^HTTP\//.test(last) || !balanced(bodyText(lines));
  }
  return !balanced(bodyText(lines));
}

function bodyText(lines: string[]): string {
  const first = lines[0]!;
  if (/^HTTP\//.test(first)) return lines.filter((l) => !/^HTTP\//.test(l) && !/^[\w-]+: /.test(l)).join("\n");
  return lines.join("\n").replace(/^\(?\d{3}( [A-Za-z ]+)?\)?\s*/, "");
}

function balanced(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
  }
  return depth <= 0;
}

function parseAnswer(lines: string[]): ReadmeAnswer {
  const headers: Record<string, string> = {};
  let status = 200;
  const first = lines[0]!;
  const statusLine = /^HTTP\/[\d.]+ (\d{3})/.exec(first) ?? /^\(?(\d{3})\b/.exec(first);
  if (statusLine) status = Number(statusLine[1]);
  if (/^HTTP\//.test(first)) {
    for (const line of lines.slice(1)) {
      const header = /^([\w-]+): (.*)$/.exec(line);
      if (header) headers[header[1]!.toLowerCase()] = header[2]!;
    }
  }
  const text = bodyText(lines).trim();
  return { status, headers, body: text ? parseShownJson(text) : undefined };
}

/** JSON with the README's placeholders turned into {@link ANY} and {@link REST}. */
export function parseShownJson(text: string): unknown {
  let out = "";
  const stack: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end + 1);
      i = end;
    } else if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      const inner = /^\s*(…|\.\.\.)\s*/.exec(text.slice(i + 1));
      if (inner && text[i + 1 + inner[0].length] === close) {
        out += JSON.stringify(ANY);
        i += inner[0].length + 1;
        continue;
      }
      stack.push(c);
      out += c;
    } else if (c === "}" || c === "]") {
      stack.pop();
      out += c;
    } else if (text.startsWith("...", i) || c === "…") {
      const inObject = stack[stack.length - 1] === "{";
      const afterColon = /:\s*$/.test(out);
      out += afterColon ? JSON.stringify(ANY) : inObject ? `${JSON.stringify(REST)}:true` : JSON.stringify(REST);
      i += c === "…" ? 0 : 2;
    } else out += c;
  }
  return JSON.parse(out);
}

/** A frame as shown: JSON with placeholders, or plain text ("pong"). */
function parseFrame(text: string): unknown {
  return /^[{[]/.test(text) ? parseShownJson(text) : text;
}

function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  throw new Error(`unterminated string in ${text}`);
}

function curlRequest(words: string[], base: string): ReadmeRequest | null {
  let method: string | undefined;
  let url: string | undefined;
  let body: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    if (word === "-X" || word === "--request") method = words[++i];
    else if (word === "-H" || word === "--header") {
      const [name, ...value] = words[++i]!.split(":");
      headers[name!.trim().toLowerCase()] = value.join(":").trim();
    } else if (["-d", "--data", "--data-raw", "--data-binary"].includes(word)) body = words[++i];
    else if (word === "--json") {
      body = words[++i];
      headers["content-type"] ??= "application/json";
      headers["accept"] ??= "application/json";
    } else if (word.startsWith("-"))
      continue; // -i, -s, -N, -v: how curl prints, not what it sends
    else url = word;
  }
  if (!url?.startsWith(base)) return null;
  if (body !== undefined) headers["content-type"] ??= "application/x-www-form-urlencoded"; // as curl does
  return {
    method: method ?? (body === undefined ? "GET" : "POST"),
    path: url.slice(base.length) || "/",
    headers,
    body,
  };
}

/** Splits a command line as a POSIX shell would (quotes, `$VAR` outside single quotes). */
function shellWords(command: string, vars: Record<string, string>): string[] {
  const words: string[] = [];
  let word: string | null = null;
  const expand = (text: string) => substitute(text, vars);
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "#" && word === null) break;
    if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = command.indexOf("'", i + 1);
      word = (word ?? "") + command.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let end = i + 1;
      while (end < command.length && command[end] !== '"') end += command[end] === "\\" ? 2 : 1;
      word = (word ?? "") + expand(command.slice(i + 1, end).replace(/\\(["\\$`])/g, "$1"));
      i = end;
    } else {
      const end = command.slice(i).search(/[\s'"]/);
      const chunk = end === -1 ? command.slice(i) : command.slice(i, i + end);
      word = (word ?? "") + expand(chunk);
      i += chunk.length - 1;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

function unquote(text: string): string {
  return /^(['"]).*\1$/.test(text) ? text.slice(1, -1) : text;
}
