/**
 * The algorithms by name (the `algorithm` field of a policy), over the quota table's state
 * columns: what the object runs. Each decides on its own named state (gcra.ts, sliding-window.ts,
 * fixed-window.ts); columns.ts maps that state to the columns.
 */
import { COLUMNS, onColumns, type StateColumns } from "./columns";
import { fixedWindow } from "./fixed-window";
import { gcra, type Algorithm } from "../shared";
import { slidingWindow } from "./sliding-window";

export const ALGORITHMS = {
  gcra: onColumns(gcra, COLUMNS.gcra),
  "sliding-window": onColumns(slidingWindow, COLUMNS["sliding-window"]),
  "fixed-window": onColumns(fixedWindow, COLUMNS["fixed-window"]),
} as const satisfies Record<string, Algorithm<StateColumns>>;

export type AlgorithmName = keyof typeof ALGORITHMS;
export { COLUMNS, type Codec, type StateColumns } from "./columns";
export type { FixedWindowState } from "./fixed-window";
export type { Algorithm, Decision, GcraState, Rate } from "../shared";
export type { SlidingWindowState } from "./sliding-window";
