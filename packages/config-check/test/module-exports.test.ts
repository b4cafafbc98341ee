import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { moduleExports, parseJsonc } from "../src/index.js";

function project(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), "config-check-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
  return root;
}

describe("reading a main module's exports", () => {
  it("follows renamed, star and nested re-exports, and ignores type-only ones", () => {
    const root = project({
      "index.ts": `export { Room as ChatRoom } from "./room"; export * from "./more/index.js"; export type { Hidden } from "./room"; export default {};`,
      "room.ts": `export class Room {} export class Hidden {}`,
      "more/index.ts": `export * from "./deep"; export const helper = 1;`,
      "more/deep.ts": `export class Deep {} export default class Ignored {}`,
    });
    const { names, unresolved } = moduleExports(path.join(root, "index.ts"));
    expect([...names].sort()).toEqual(["ChatRoom", "Deep", "default", "helper"]);
    expect(unresolved).toEqual([]);
  });

  it("does not count a name re-exported from a file that does not export it", () => {
    const root = project({ "index.ts": `export { Missing } from "./room";`, "room.ts": `export class Room {}` });
    expect([...moduleExports(path.join(root, "index.ts")).names]).toEqual([]);
  });

  it("trusts named re-exports from packages and lists every package it could not follow", () => {
    const root = project({ "index.ts": `export * from "@acme/objects"; export { Counter } from "@acme/counter";` });
    const { names, unresolved } = moduleExports(path.join(root, "index.ts"));
    expect([...names]).toEqual(["Counter"]);
    expect(unresolved).toEqual(["@acme/objects", "@acme/counter"]);
  });

  it("survives modules that re-export each other", () => {
    const root = project({
      "a.ts": `export * from "./b"; export class A {}`,
      "b.ts": `export * from "./a"; export class B {}`,
    });
    expect([...moduleExports(path.join(root, "a.ts")).names].sort()).toEqual(["A", "B"]);
  });
});

describe("parsing JSONC", () => {
  it("accepts line and block comments and trailing commas, and locates values by line", () => {
    const doc = parseJsonc(`{\n  // a comment\n  "a": [1, 2,], /* block */\n  "b": { "c": true, },\n}`);
    expect(doc.errors).toEqual([]);
    expect(doc.value).toEqual({ a: [1, 2], b: { c: true } });
    expect(doc.locate(["b", "c"])).toEqual({ line: 4, column: 10 });
    expect(doc.locate(["b", "missing"])).toEqual({ line: 4, column: 3 });
  });
});
