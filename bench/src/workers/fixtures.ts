/**
 * The bench's own Worker: the ceiling route. Kept as bare as a Worker can be (no router, no
 * validation) so that it measures the platform path every app request also pays.
 */
import type { Noop } from "./noop";

export { Noop } from "./noop";

interface FixturesEnv {
  NOOP: DurableObjectNamespace<Noop>;
}

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === "/noop") {
      return Response.json({ value: await env.NOOP.getByName("x").ping() });
    }
    return new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<FixturesEnv>;
