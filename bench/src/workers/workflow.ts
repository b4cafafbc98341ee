/**
 * The workflow app as it ships (its Worker, objects and workflows), plus one bench-only workflow
 * of `steps` tiny `step.do` calls and bench-only RPCs that create an instance and run its alarm's
 * work, so the bench can time the engine and count the rows each step costs; and one bench-only
 * workflow that never runs, `bench-list`, whose index the listing benchmark fills with entries
 * straight into its SQLite (`benchFill()`) and then lists through the app's HTTP routes.
 */
import { WorkflowRegistry, defineWorkflow } from "../../../apps/workflow/src/engine/define";
import { INSTANCE_STATUSES } from "../../../apps/workflow/src/protocol";
import { WorkflowIndex as AppWorkflowIndex } from "../../../apps/workflow/src/workflow-index-object";
import { WorkflowRunner as AppWorkflowRunner } from "../../../apps/workflow/src/workflow-runner-object";
import { WorkflowScheduler as AppWorkflowScheduler } from "../../../apps/workflow/src/workflow-scheduler-object";
import { WorkflowService as AppWorkflowService } from "../../../apps/workflow/src/workflow-service";
import { workflowWorker } from "../../../apps/workflow/src/worker";
import { workflows as shipped } from "../../../apps/workflow/src/workflows";

/** Only in the bench's bundle: `steps` steps, each returning a small number. */
const benchSteps = defineWorkflow("bench-steps", async (params: { steps: number }, step) => {
  let total = 0;
  for (let i = 0; i < params.steps; i++) total += await step.do(`step ${i}`, () => i);
  return { total };
});

/**
 * Only in the bench's bundle, and never started: its name makes `GET /api/instances?workflow=bench-list`
 * a valid query. Its index holds the entries `WorkflowIndex.benchFill()` inserts.
 */
const benchList = defineWorkflow("bench-list", async () => ({}));

const workflows = new WorkflowRegistry([...shipped, benchSteps, benchList]);

// The app's other object, as it exports it.
export { WorkflowCoordinator } from "../../../apps/workflow/src/workflow-coordinator-object";

export default workflowWorker(workflows);

export class WorkflowScheduler extends AppWorkflowScheduler {
  protected readonly workflows = workflows;
}

export class WorkflowService extends AppWorkflowService {
  protected readonly workflows = workflows;
}

/**
 * The object's clock runs an hour ahead, so the alarm the queue arms for each run is an hour away
 * in real time and never fires during the bench: the harness does each alarm's work itself
 * (`benchRunOnce()`), and times the engine, not the runtime's alarm latency.
 */
const AHEAD_MS = 3_600_000;

export class WorkflowRunner extends AppWorkflowRunner {
  protected readonly workflows = workflows;
  override clock = () => Date.now() + AHEAD_MS;

  benchMeter() {
    return { ...this.sql.meter };
  }

  /** Creates an instance of the bench workflow here, as the Worker's `POST /api/instances` would. */
  benchCreate(id: string, steps: number) {
    return this.create({ id, workflow: "bench-steps", params: { steps } });
  }

  /** One alarm invocation's work; answers the instance's status, read outside the meter. */
  async benchRunOnce(): Promise<string> {
    await this.alarm();
    const row = this.ctx.storage.sql.exec<{ status: string }>("SELECT status FROM instance WHERE id = 1").one();
    return row.status;
  }
}

/**
 * How `benchFill()` lays entries out (src/listing.mjs builds cursors from the same numbers): entry
 * `i` has id `i-` and `i` in 7 digits, is created `i` × 30 s after a fixed instant (a new instance
 * every 30 s: 100,000 entries are five weeks of them) and is in status `INSTANCE_STATUSES[i % 7]`.
 */
const FILL = { createdAt: 1_700_000_000_000, spacingMs: 30_000, idDigits: 7 };

/** Entries inserted per transaction: one statement each, so a batch holds the object a few ms. */
const FILL_BATCH = 10_000;

/** Each workflow's index as the app ships it, with a meter RPC and a fast fill for the listing benchmark. */
export class WorkflowIndex extends AppWorkflowIndex {
  benchMeter() {
    return { ...this.sql.meter };
  }

  /**
   * Fills this index up to `entries` entries (idempotent: entries already there stay), straight
   * into its SQLite as test/index-scale.test.ts does: one `INSERT … SELECT` over a recursive CTE
   * per batch of {@link FILL_BATCH}, each batch one transaction, then the counts per status set
   * from the entries. Outside the Sql meter: what the benchmark meters is the listing. (Timed by
   * the harness: a Durable Object's clock stands still while it runs synchronous code.)
   */
  benchFill(entries: number) {
    const sql = this.ctx.storage.sql;
    const have = sql.exec<{ n: number }>("SELECT count(*) AS n FROM entries").one().n;
    const status = `CASE i % ${INSTANCE_STATUSES.length} ${INSTANCE_STATUSES.map((s, k) => `WHEN ${k} THEN '${s}'`).join(" ")} END`;
    for (let from = have; from < entries; from += FILL_BATCH) {
      const to = Math.min(entries, from + FILL_BATCH);
      this.ctx.storage.transactionSync(() => {
        sql.exec(
          `WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)
           INSERT INTO entries (id, incarnation, status, created_at, updated_at, version)
           SELECT printf('i-%0${FILL.idDigits}d', i), 'x', ${status},
                  ? + i * ?, ? + i * ?, 1 FROM n`,
          from,
          to - 1,
          FILL.createdAt,
          FILL.spacingMs,
          FILL.createdAt,
          FILL.spacingMs,
        );
      });
    }
    if (have < entries) {
      sql.exec("UPDATE counts SET n = (SELECT count(*) FROM entries WHERE entries.status = counts.status)");
    }
    return {
      entries: sql.exec<{ n: number }>("SELECT count(*) AS n FROM entries").one().n,
      inserted: Math.max(0, entries - have),
      databaseBytes: this.ctx.storage.sql.databaseSize,
      layout: { ...FILL, statuses: INSTANCE_STATUSES },
    };
  }
}
