import { DurableObject } from "cloudflare:workers";

/** One workflow instance. */
export class WorkflowRunner extends DurableObject<Env> {}
