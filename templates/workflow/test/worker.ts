/**
 * The tests' Worker entry (vitest.config.ts `main`; deploys use src/index.ts): the same Worker and
 * objects as src/index.ts, built for the shipped workflows and the tests' own (test/workflows.ts).
 */
import { WorkflowRegistry } from "../src/engine/define";
import { WorkflowRunner as Runner } from "../src/workflow-runner-object";
import { WorkflowScheduler as Scheduler } from "../src/workflow-scheduler-object";
import { WorkflowService as Service } from "../src/workflow-service";
import { workflowWorker } from "../src/worker";
import { workflows as shipped } from "../src/workflows";
import { testWorkflows } from "./workflows";

export { WorkflowIndex } from "../src/workflow-index-object";
export { WorkflowCoordinator } from "../src/workflow-coordinator-object";

const workflows = new WorkflowRegistry([...shipped, ...testWorkflows]);

export class WorkflowRunner extends Runner {
  protected readonly workflows = workflows;
}

export class WorkflowScheduler extends Scheduler {
  protected readonly workflows = workflows;
}

export class WorkflowService extends Service {
  protected readonly workflows = workflows;
}

export default workflowWorker(workflows);
