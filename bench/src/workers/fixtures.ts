/**
 * The bench's own Worker: the limits every app request is compared with. Kept as bare as a Worker
 * can be (no router, no validation) so that they measure the platform path every app request also
 * pays:
 *
 * - `GET /noop`: the ceiling, a no-op RPC;
 * - `POST /post`: bare-post, the JSON body read and handed to a no-op RPC;
 * - `POST /write`: bare-write, the same, and the object does one `UPDATE … RETURNING` on one row.
 */
import type { BareWrite } from "./bare-write";
import type { Noop } from "./noop";

export { BareWrite } from "./bare-write";
export { Noop } from "./noop";

interface FixturesEnv {
  NOOP: DurableObjectNamespace<Noop>;
  BARE_WRITE: DurableObjectNamespace<BareWrite>;
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/noop") {
      return Response.json({ value: await env.NOOP.getByName("x").ping() });
    }
    if (pathname === "/post" && request.method === "POST") {
      const body: unknown = await request.json();
      return Response.json({ value: await env.NOOP.getByName("post").accept(body) });
    }
    if (pathname === "/write" && request.method === "POST") {
      const { by } = (await request.json()) as { by: number };
      return Response.json({ value: await env.BARE_WRITE.getByName("x").add(by) });
    }
    return new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<FixturesEnv>;
