/**
 * The alarm benchmark's Worker: three objects that each drain the same due tasks, one per
 * implementation. The bench drives them over RPC only; this Worker answers no HTTP.
 */
export { ActorDrain } from "./actor-drain";
export { AgentDrain } from "./agent-drain";
export { QueueDrain } from "./queue-drain";

export default {
  async fetch() {
    return new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler;
