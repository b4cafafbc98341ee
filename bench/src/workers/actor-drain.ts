import { DurableObject } from "cloudflare:workers";
import { Alarms } from "@cloudflare/actors/alarms";
import { meterStorage } from "./storage-meter";

/**
 * The same benchmark on the Actors SDK's `Alarms`: `alarms.schedule(date, "task", payload)` for
 * each task (no batch form), then `alarms.alarm()` as one invocation, until nothing is left.
 */
export class ActorDrain extends DurableObject<object> {
  private readonly meter: ReturnType<typeof meterStorage>;
  private readonly alarms: Alarms<ActorDrain>;

  constructor(ctx: DurableObjectState, env: object) {
    const meter = meterStorage(ctx);
    super(ctx, env);
    this.meter = meter;
    this.alarms = new Alarms(ctx, this);
  }

  async task(_payload: { i: number }): Promise<void> {}

  /** `Alarms` expects its parent to be an `Actor`, which it tells the name a task was scheduled under. */
  setName(_name: string): void {}

  async scheduleDue(count: number, dueAt: number): Promise<void> {
    const at = new Date(dueAt);
    for (let i = 0; i < count; i++) await this.alarms.schedule(at, "task", { i });
  }

  async runOnce() {
    await this.alarms.alarm();
    return {};
  }

  /** Left to the bench, which calls `runOnce()` itself (see QueueDrain). */
  override async alarm(): Promise<void> {}

  pending(): number {
    return this.meter.unmetered<{ n: number }>("SELECT count(*) AS n FROM _actor_alarms").one().n;
  }

  benchMeter() {
    return this.meter.read();
  }
}
