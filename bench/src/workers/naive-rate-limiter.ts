import { DurableObject } from "cloudflare:workers";
import type { Policy } from "../../../apps/rate-limiter/src/policy";
import type { QuotaResult } from "../../../apps/rate-limiter/src/protocol";

/**
 * The rate limiter people copy first: the time of every admitted request in one array, stored as
 * one value; each check reads it, drops what is older than the longest window, counts what is
 * left per policy, appends and writes the whole array back. It is correct inside a Durable Object
 * (input and output gates hold other events back while storage is in flight), so the bench
 * measures its cost: the stored value grows with traffic (every request of the last window) and
 * is rewritten on every check, where the app keeps one fixed-size row per policy.
 *
 * Every policy is treated as "at most `limit` per `period` seconds" (a sliding log), whatever its
 * algorithm. The runtime exposes no rows meter for the key-value API, so this class counts its
 * own calls (one key = one billed row) and the size of what it stores.
 */
export class NaiveRateLimiter extends DurableObject {
  private calls = { gets: 0, puts: 0, entries: 0 };

  async check(policies: Policy[], cost: number): Promise<QuotaResult> {
    const now = Date.now();
    const window = Math.max(...policies.map((policy) => policy.period)) * 1000;
    this.calls.gets += 1;
    const log = ((await this.ctx.storage.get<number[]>("log")) ?? []).filter((time) => time > now - window);
    const used = policies.map((policy) => log.filter((time) => time > now - policy.period * 1000).length);
    const allowed = policies.every((policy, i) => used[i]! + cost <= policy.limit);
    if (allowed) {
      for (let i = 0; i < cost; i++) log.push(now);
      this.calls.puts += 1;
      this.calls.entries = log.length;
      await this.ctx.storage.put("log", log);
    }
    return {
      allowed,
      policies: policies.map((policy, i) => ({
        name: policy.name,
        algorithm: policy.algorithm,
        limit: policy.limit,
        period: policy.period,
        remaining: Math.max(0, policy.limit - used[i]! - (allowed ? cost : 0)),
        // The oldest entry in this policy's window leaves it first.
        reset: Math.ceil(policy.period - (now - (log.find((time) => time > now - policy.period * 1000) ?? now)) / 1000),
        retryAfter: allowed ? 0 : 1,
      })),
    };
  }

  /** Bench-only: storage calls so far in the Sql meter's shape (1 call = 1 billed row), and the array's length. */
  benchMeter() {
    return {
      statements: this.calls.gets + this.calls.puts,
      rowsRead: this.calls.gets,
      rowsWritten: this.calls.puts,
      storedEntries: this.calls.entries,
    };
  }
}
