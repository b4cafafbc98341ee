/**
 * The README's examples are tests: every `curl` of README.md's API section (and the WebSocket
 * session of its WebSocket subsection), with the README's token, then the Health section's, is
 * played against the Worker in the README's order and must answer exactly what it shows (status,
 * body), so the documentation cannot drift from the app. Every route of the Worker must have an
 * example. The Worker is src/index.ts's, the deployed one (the shipped workflows only, as
 * `GET /api/workflows` lists them).
 *
 * Against `wrangler dev` an instance runs within milliseconds of a create, an event or a resume;
 * here, before each request, every alarm of the README's instances that is due has run (the
 * platform fires them by itself too): what a reader who types the commands one by one sees.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { playReadme, readmeExamples, routesWithoutExample, unplayedCommands } from "../src/shared/readme-examples";
import { WorkflowRegistry } from "../src/engine/define";
import worker from "../src/index";
import { workflowApi } from "../src/worker";
import { workflows } from "../src/workflows";
import type { WorkflowRunner } from "../src/workflow-runner-object";
import readme from "../README.md?raw";
import { stub } from "./helpers";

const examples = readmeExamples(readme, { section: "API" });
const health = readmeExamples(readme, { section: "Health" });

/** The token the README uses: `.dev.vars.example`'s, which `pnpm dev` copies to `.dev.vars`. */
const README_TOKEN = "dev-token-change-me";

/** The instances the README creates. */
const INSTANCES = ["order-42", "order-43"];

/** Tasks of instance `id` due by its clock (its run, its index update), none when it has no queue. */
function dueTasks(id: string): Promise<number> {
  return runInDurableObject(stub(id), (runner: WorkflowRunner) =>
    runner.sql.hasTable("_alarm_queue_tasks")
      ? runner.sql.one<{ n: number }>("SELECT count(*) AS n FROM _alarm_queue_tasks WHERE due <= ?", runner.clock())!.n
      : 0,
  );
}

/** Runs every due alarm of the README's instances: each has done all it can until its next wake-up. */
async function settle(): Promise<void> {
  for (const id of INSTANCES) {
    for (let round = 0; (await dueTasks(id)) > 0; round++) {
      if (round > 50) throw new Error(`instance ${id} keeps having due tasks`);
      // Runs the alarm now; false when the platform fired it by itself and it is still running.
      if (!(await runDurableObjectAlarm(stub(id)))) await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

describe("README.md examples", () => {
  it("plays every curl of the README and its WebSocket session, each of the API's with the README's token", () => {
    expect(unplayedCommands(readme, [...examples, ...health])).toEqual([]);
    // Each curl carries the README's token (the WebSocket, which a browser opens, its ?token=).
    const curls = examples.flatMap((e) => (e.kind === "http" ? [e] : []));
    expect(curls.every((e) => e.request.headers.authorization === `Bearer ${README_TOKEN}`)).toBe(true);
  });

  it("shows every route of the Worker with an example", () => {
    expect(routesWithoutExample(readme, workflowApi(new WorkflowRegistry(workflows)).routes)).toEqual([]);
  });

  it("answers each one, played in order against a fresh app, as the README shows", async () => {
    const sockets = await playReadme(
      [...examples, ...health],
      async (request) => {
        await settle();
        return worker.fetch(request, { ...env, WORKFLOW_TOKEN: README_TOKEN }, createExecutionContext());
      },
      // Instants and the cursor (made of a creation time) differ at each run: only their type is checked.
      { varying: ["createdAt", "updatedAt", "startedAt", "finishedAt", "wakeAt", "receivedAt", "next"] },
    );
    for (const client of sockets) client.socket.close(1000);
  });
});
