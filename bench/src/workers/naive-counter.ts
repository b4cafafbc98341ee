import { DurableObject } from "cloudflare:workers";

/** The same result shape as the app's Counter, so the app's router can serve this class unchanged. */
type ChangeResult = { ok: true; value: number };

/**
 * The counter people write first, copied from key-value examples: read the value, `await`, write
 * it back. It is still correct inside a Durable Object (input and output gates hold other events
 * back while storage is in flight), so the bench measures only its cost: two storage calls with an
 * await between them where the app's Counter runs one synchronous SQL statement.
 *
 * The runtime exposes no rows meter for the key-value API, so this class counts its own calls;
 * each get of one key is billed as 1 row read and each put of one key as 1 row written.
 */
export class NaiveCounter extends DurableObject {
  private calls = { gets: 0, puts: 0 };

  async add(delta: number): Promise<ChangeResult> {
    this.calls.gets += 1;
    const value = (await this.ctx.storage.get<number>("value")) ?? 0;
    this.calls.puts += 1;
    await this.ctx.storage.put("value", value + delta);
    return { ok: true, value: value + delta };
  }

  async value(): Promise<number> {
    this.calls.gets += 1;
    return (await this.ctx.storage.get<number>("value")) ?? 0;
  }

  /** Bench-only: storage calls so far, in the Sql meter's shape (1 call = 1 billed row). */
  benchMeter() {
    return { statements: this.calls.gets + this.calls.puts, rowsRead: this.calls.gets, rowsWritten: this.calls.puts };
  }
}
