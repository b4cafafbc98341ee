/**
 * The peer of the workflow benchmark: Cloudflare Workflows as Miniflare emulates it locally. The
 * same workflow (`steps` tiny `step.do` calls); `GET /run?steps=N` creates an instance and answers
 * once its status is complete. There is no Sql meter to read: the local engine keeps its state
 * in Miniflare's own Durable Object.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";

interface StepsEnv {
  STEPS: Workflow<{ steps: number }>;
}

export class Steps extends WorkflowEntrypoint<StepsEnv, { steps: number }> {
  override async run(event: WorkflowEvent<{ steps: number }>, step: WorkflowStep) {
    let total = 0;
    for (let i = 0; i < event.payload.steps; i++) total += await step.do(`step ${i}`, async () => i);
    return { total };
  }
}

/** How often the Worker asks for the status: the instance's end is seen at most this late. */
const POLL_MS = 1;

export default {
  async fetch(request: Request, env: StepsEnv): Promise<Response> {
    const steps = Number(new URL(request.url).searchParams.get("steps"));
    if (!Number.isInteger(steps) || steps < 1) return new Response("steps must be a positive integer", { status: 400 });
    const instance = await env.STEPS.create({ params: { steps } });
    for (;;) {
      const { status } = await instance.status();
      if (status === "complete") return Response.json({ status });
      if (status === "errored" || status === "terminated") return Response.json({ status }, { status: 500 });
      // The Workflows binding has no "wait until done": polling is how a caller sees the end.
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  },
} satisfies ExportedHandler<StepsEnv>;
