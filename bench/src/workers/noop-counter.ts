import { DurableObject } from "cloudflare:workers";

/** The same result shape as the app's Counter, so the app's router can serve this class unchanged. */
type ChangeResult = { ok: true; value: number };

/**
 * The counter's Worker side alone: an object with the Counter's RPC surface that does nothing and
 * answers a canned result. Behind the app's real Worker it leaves only the Worker's own cost
 * (router, validation, body limit, JSON answer) on top of the platform path.
 */
export class NoopCounter extends DurableObject {
  add(_delta: number, _limit?: number): ChangeResult {
    return { ok: true, value: 0 };
  }
}
