/** The algorithms by name: the `algorithm` field of a policy. */
import { fixedWindow } from "./fixed-window";
import { gcra } from "./gcra";
import { slidingWindow } from "./sliding-window";
import type { Algorithm } from "./types";

export const ALGORITHMS = {
  gcra,
  "sliding-window": slidingWindow,
  "fixed-window": fixedWindow,
} as const satisfies Record<string, Algorithm>;

export type AlgorithmName = keyof typeof ALGORITHMS;
export type { Algorithm, Decision, Rate, State } from "./types";
