import { DurableObject } from "cloudflare:workers";
import { AlarmQueue } from "../../../packages/shared/src/alarm-queue";
import { meterStorage } from "./storage-meter";

/**
 * The shared alarm queue with one no-op task handler, driven by the bench: `scheduleDue(n, at)` puts
 * n tasks due at `at` in with one `scheduleMany`, then the bench calls `runOnce()` (one `run()`, which is
 * what one alarm invocation does) until nothing is left, timing each call.
 */
export class QueueDrain extends DurableObject<object> {
  private readonly meter: ReturnType<typeof meterStorage>;
  private readonly queue: AlarmQueue<{ task: (payload: { i: number }) => void }>;

  constructor(ctx: DurableObjectState, env: object) {
    const meter = meterStorage(ctx);
    super(ctx, env);
    this.meter = meter;
    this.queue = new AlarmQueue(ctx, { handlers: { task: (_payload: { i: number }) => {} } });
  }

  scheduleDue(count: number, dueAt: number): void {
    this.queue.scheduleMany(
      Array.from({ length: count }, (_, i) => ({ name: "task" as const, payload: { i }, at: dueAt })),
    );
  }

  /** One alarm invocation's work. `report` is the queue's own account, to check the meter against. */
  async runOnce() {
    const report = await this.queue.run();
    return {
      ran: report.ran,
      report: { rowsRead: report.rowsRead, rowsWritten: report.rowsWritten },
    };
  }

  /**
   * The platform's alarm (the queue arms it for the rest after each run) is left to the bench,
   * which calls `runOnce()` itself so that each run can be timed on its own.
   */
  override async alarm(): Promise<void> {}

  pending(): number {
    return this.meter.unmetered<{ n: number }>("SELECT count(*) AS n FROM _alarm_queue_tasks").one().n;
  }

  benchMeter() {
    return this.meter.read();
  }
}
