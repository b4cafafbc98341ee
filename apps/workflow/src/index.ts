/**
 * The workflow Worker: validates every request, then forwards it to the WorkflowRunner object of
 * the instance named in the path.
 */
import { Hono } from "hono";
import { notFound, onError } from "@durable-patterns/shared";

export { WorkflowRunner } from "./workflow-runner-object";

const app = new Hono<{ Bindings: Env }>();
app.onError(onError);
app.notFound(notFound);

export default app satisfies ExportedHandler<Env>;
