import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkConfig, checkWarnings } from "../src/index.js";
import { fixture, problemsOf } from "./helpers.ts";

describe("a correct config", () => {
  it("passes with SQLite classes, natural tags (v2 before v10) and classes exported through re-exports", () => {
    expect(checkConfig(fixture("good"))).toEqual([]);
  });

  it("passes a legacy KV class, a rename and a deletion that carry acknowledgement comments", () => {
    expect(checkConfig(fixture("acknowledged"))).toEqual([]);
  });
});

describe("migration tags", () => {
  it("reports a tag used twice, at the second use", () => {
    expect(problemsOf("duplicate-tag")).toEqual([["duplicate-tag", 7]]);
    expect(checkConfig(fixture("duplicate-tag"))[0]?.message).toContain(
      'migrations[1] reuses tag "v1" (already used by migrations[0])',
    );
  });

  it("reports a migration inserted before the last tag, which would never be applied", () => {
    expect(problemsOf("tag-order")).toEqual([["tag-order", 8]]);
    expect(checkConfig(fixture("tag-order"))[0]?.message).toContain(
      'tag "v2", which sorts before the previous tag "v3"',
    );
  });
});

describe("storage backend", () => {
  it("reports a class created with new_classes (KV-backed, no SQL) and says how to acknowledge a deployed one", () => {
    const [problem] = checkConfig(fixture("kv-backed-class"));
    expect(problem).toMatchObject({ rule: "kv-backed-class", line: 5 });
    expect(problem?.fix).toContain('Use "new_sqlite_classes": ["Counter"]');
    expect(problem?.fix).toContain("// durable-config-check: allow new_classes Counter");
  });
});

describe("migrations that move or destroy data", () => {
  it("reports deleted_classes, which destroys every object's data on deploy", () => {
    const [problem] = checkConfig(fixture("deleted-class"));
    expect(problem).toMatchObject({ rule: "deleted-class", line: 7 });
    expect(problem?.message).toContain('deletes "ChatRoom": deploying it destroys every object of that class');
    expect(problem?.fix).toContain("// durable-config-check: allow deleted_classes ChatRoom");
  });

  it("reports renamed_classes without an acknowledgement", () => {
    expect(problemsOf("renamed-class")).toEqual([["renamed-class", 6]]);
  });

  it("reports transferred_classes without an acknowledgement, naming the other Worker", () => {
    expect(problemsOf("transferred-class")).toEqual([["transferred-class", 4]]);
    expect(checkConfig(fixture("transferred-class"))[0]?.message).toContain('from Worker "old-chat"');
  });
});

describe("bound classes", () => {
  it("reports a bound class that main does not export (a type-only export does not count)", () => {
    const [problem] = checkConfig(fixture("unexported-class"));
    expect(problem).toMatchObject({ rule: "unexported-class", line: 8 });
    expect(problem?.message).toContain('Binding ROOM uses class "Room", which src/index.ts does not export');
  });

  it("reports a bound class that no migration creates, proposing the next tag", () => {
    const [problem] = checkConfig(fixture("missing-migration"));
    expect(problem).toMatchObject({ rule: "missing-migration", line: 9 });
    expect(problem?.fix).toBe('Append { "tag": "v2", "new_sqlite_classes": ["Room"] } to "migrations".');
  });
});

describe("compatibility_date", () => {
  it("reports a date before 2024-04-03, when SQLite-backed objects appeared", () => {
    expect(problemsOf("old-compatibility-date")).toEqual([["compatibility-date", 3]]);
    expect(checkConfig(fixture("old-compatibility-date"))[0]?.message).toContain(
      "compatibility_date 2023-10-30 is older than 2024-04-03",
    );
  });

  it("reports a missing date", () => {
    expect(problemsOf("missing-compatibility-date")).toEqual([["compatibility-date", 1]]);
  });
});

describe("syntax", () => {
  it("reports where the JSONC is broken", () => {
    // Written at run time: a broken fixture file would break the repository's prettier check.
    const dir = mkdtempSync(path.join(tmpdir(), "config-check-"));
    writeFileSync(
      path.join(dir, "wrangler.jsonc"),
      '{\n  "name": "broken",\n  "compatibility_date": "2026-11-01"\n  "migrations": []\n}\n',
    );
    const [problem] = checkConfig(path.join(dir, "wrangler.jsonc"));
    expect(problem).toMatchObject({ rule: "syntax", line: 4, column: 3, message: "Not valid JSONC: comma expected." });
  });
});

describe("warnings", () => {
  it("warns when observability is off, at its line, without making it a problem", () => {
    expect(checkConfig(fixture("no-observability"))).toEqual([]);
    const warnings = checkWarnings(fixture("no-observability"));
    expect(warnings.map((w) => [w.rule, w.line])).toEqual([["observability", 6]]);
    expect(warnings[0]?.message).toContain("Workers Logs will keep none of the lines");
  });

  it("warns when observability is missing, and not when it is enabled", () => {
    expect(checkWarnings(fixture("acknowledged")).map((w) => w.rule)).toEqual(["observability"]);
    expect(checkWarnings(fixture("good"))).toEqual([]);
  });
});
