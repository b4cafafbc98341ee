/**
 * The README's transition table, written once for the tests that check the API against it: the
 * statuses each lifecycle action is allowed from, and the status it leads to. From any other
 * status the action answers 409 `illegal-transition` and changes nothing.
 */
import type { InstanceStatus } from "../src/protocol";

export const TRANSITIONS: Record<string, { from: readonly InstanceStatus[]; to: InstanceStatus }> = {
  pause: { from: ["queued", "running", "waiting"], to: "paused" },
  resume: { from: ["paused"], to: "queued" },
  terminate: { from: ["queued", "running", "waiting", "paused"], to: "terminated" },
  restart: { from: ["queued", "running", "paused", "waiting", "errored", "terminated", "complete"], to: "queued" },
};
