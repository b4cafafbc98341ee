/**
 * What a check costs in billed SQLite rows, measured by the shared Sql meter and asserted
 * exactly; the README quotes these numbers.
 */
import { describe, expect, it } from "vitest";
import { check, cost, uniqueKey } from "./helpers";

const gcra = { name: "g", algorithm: "gcra", limit: 100, period: 60 };
const sliding = { name: "s", algorithm: "sliding-window", limit: 100, period: 60 };
const fixed = { name: "f", algorithm: "fixed-window", limit: 100, period: 60 };

describe("storage cost per check", () => {
  for (const policy of [gcra, sliding, fixed]) {
    it(`a ${policy.algorithm} check reads and writes one row`, async () => {
      const key = uniqueKey();
      await check({ key, policies: [policy] });
      expect(await cost(key, () => check({ key, policies: [policy] }))).toEqual({
        statements: 2,
        rowsRead: 1,
        rowsWritten: 1,
      });
    });
  }
});
