import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fixture } from "./helpers.ts";

const bin = fileURLToPath(new URL("../bin/durable-config-check.js", import.meta.url));

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the durable-config-check command", () => {
  it("exits 0 and says so when every config is clean", () => {
    const result = run(fixture("good"), fixture("acknowledged"));
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/: no problems\n$/);
  });

  it("exits 1 and prints file:line:column, the problem and the fix", () => {
    const result = run(fixture("deleted-class"));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/deleted-class\/wrangler\.jsonc:7:40 {2}error {2}migrations\[1\] deletes "ChatRoom"/);
    expect(result.stderr).toContain("    fix: To rename the class use renamed_classes");
    expect(result.stderr).toMatch(/: 1 problem\n$/);
  });

  it("counts the problems of every file it is given", () => {
    const result = run(fixture("duplicate-tag"), fixture("tag-order"), fixture("good"));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/: 2 problems\n$/);
  });

  it("prints a warning when observability is off, and still exits 0", () => {
    const result = run(fixture("no-observability"));
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(
      /no-observability\/wrangler\.jsonc:6:\d+ {2}warning {2}observability\.enabled is not true/,
    );
    expect(result.stdout).toMatch(/: no problems\n$/);
  });

  it("exits 2 when a config does not exist", () => {
    const result = run("no/such/wrangler.jsonc");
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("durable-config-check: no/such/wrangler.jsonc: no such file\n");
  });
});
