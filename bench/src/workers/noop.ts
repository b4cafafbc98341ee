import { DurableObject } from "cloudflare:workers";

/**
 * The ceiling: a Durable Object that does nothing. A request through it pays for the Worker, the
 * RPC to the object and back, and the HTTP path, and nothing else, so no app can be faster.
 */
export class Noop extends DurableObject {
  ping(): number {
    return 0;
  }

  /** bare-post: takes the request's parsed body as its argument (the RPC serializes it) and ignores it. */
  accept(_body: unknown): number {
    return 0;
  }
}
