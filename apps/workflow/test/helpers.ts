/** Small clients for the tests: HTTP through the Worker. */
import { exports } from "cloudflare:workers";

/** Calls the Worker as any HTTP client would. */
export function api(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`https://workflow.example${path}`, init);
}
