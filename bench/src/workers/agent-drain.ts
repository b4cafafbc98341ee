import { Agent } from "agents";
import { meterStorage } from "./storage-meter";

/**
 * The same benchmark on the agents SDK: `this.schedule(date, "task", payload)` for each task (the
 * SDK has no batch form), then its `alarm()` as one invocation, until nothing is left.
 */
export class AgentDrain extends Agent {
  private readonly meter: ReturnType<typeof meterStorage>;

  constructor(ctx: DurableObjectState, env: ConstructorParameters<typeof Agent>[1]) {
    const meter = meterStorage(ctx);
    super(ctx, env);
    this.meter = meter;
  }

  async task(_payload: { i: number }): Promise<void> {}

  async scheduleDue(count: number, dueAt: number): Promise<void> {
    const at = new Date(dueAt);
    for (let i = 0; i < count; i++) await this.schedule(at, "task", { i });
  }

  async runOnce() {
    await super.alarm();
    return {};
  }

  /** Left to the bench, which calls `runOnce()` itself (see QueueDrain). */
  override async alarm(): Promise<void> {}

  pending(): number {
    return this.meter.unmetered<{ n: number }>("SELECT count(*) AS n FROM cf_agents_jobs").one().n;
  }

  benchMeter() {
    return this.meter.read();
  }
}
