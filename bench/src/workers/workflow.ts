/**
 * The workflow app as it ships (its Worker, objects and workflows), plus one bench-only workflow
 * of `steps` tiny `step.do` calls and bench-only RPCs that create an instance and run its alarm's
 * work, so the bench can time the engine and count the rows each step costs.
 */
import { WorkflowRegistry, defineWorkflow } from "../../../apps/workflow/src/engine/define";
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

const workflows = new WorkflowRegistry([...shipped, benchSteps]);

// The app's other objects, as it exports them: each instance reports to its workflow's index.
export { WorkflowCoordinator } from "../../../apps/workflow/src/workflow-coordinator-object";
export { WorkflowIndex } from "../../../apps/workflow/src/workflow-index-object";

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
