/**
 * The deployed Worker (wrangler.jsonc `main`): the Worker and its objects, built for the workflows
 * of src/workflows/index.ts.
 *
 * Why subclasses: the platform constructs a Durable Object or entrypoint class itself, with only
 * `(ctx, env)`, so the set of workflows cannot be passed in. Each class is therefore abstract in
 * its `workflows` alone, and the entry that wrangler (or the tests, through test/worker.ts) loads
 * names them in a one-line subclass. No module holds a registry that anyone can change.
 */
import { WorkflowRegistry } from "./engine/define";
import { WorkflowRunner as Runner } from "./workflow-runner-object";
import { WorkflowScheduler as Scheduler } from "./workflow-scheduler-object";
import { WorkflowService as Service } from "./workflow-service";
import { workflowWorker } from "./worker";
import { workflows as shipped } from "./workflows";

export type { WorkflowApi } from "./worker";
/** One per workflow name (binding `WORKFLOW_INDEX`): its instances, newest first, and counts per status. */
export { WorkflowIndex } from "./workflow-index-object";
/** One per workflow with a concurrency limit (binding `WORKFLOW_COORDINATOR`): its slots and waitlist. */
export { WorkflowCoordinator } from "./workflow-coordinator-object";

const workflows = new WorkflowRegistry(shipped);

/** One workflow instance (binding `WORKFLOW_RUNNER`); see src/workflow-runner-object.ts. */
export class WorkflowRunner extends Runner {
  protected readonly workflows = workflows;
}

/** One per scheduled workflow (binding `WORKFLOW_SCHEDULER`); see src/workflow-scheduler-object.ts. */
export class WorkflowScheduler extends Scheduler {
  protected readonly workflows = workflows;
}

/** The typed RPC entrypoint for other Workers; see src/workflow-service.ts. */
export class WorkflowService extends Service {
  protected readonly workflows = workflows;
}

export default workflowWorker(workflows);
