/**
 * How each algorithm's named state is kept in the quota table's three integer state columns,
 * `a`, `b` and `c` (the migration in src/rate-limiter-object.ts shows the same table). This is the
 * only code that gives the columns a meaning: the algorithms read and write named fields, and the
 * object stores and loads the columns as they are.
 *
 * | algorithm        | `a`           | `b`        | `c`                        |
 * | ---------------- | ------------- | ---------- | -------------------------- |
 * | `gcra`           | `tatUs`       | `tatTicks` | `ticksPerUs` (0: whole µs) |
 * | `sliding-window` | `windowStart` | `current`  | `previous`                 |
 * | `fixed-window`   | `windowStart` | `count`    | 0, unused                  |
 *
 * Each field is described where its state is defined (`GcraState` in gcra.ts, and so on).
 *
 * @example
 * ```ts
 * const decision = gcra.check({ limit: 3, period: 1 }, null, 1_000, 1);
 * COLUMNS.gcra.write(decision.state); // { a: 1_333_333, b: 1, c: 3 }
 * ```
 */
import type { FixedWindowState } from "./fixed-window";
import type { GcraState } from "../shared";
import type { SlidingWindowState } from "./sliding-window";
import type { Algorithm, Decision } from "../shared";

/** A policy's state as the quota table stores it: three integers, meaning what its algorithm's codec says. */
export interface StateColumns {
  a: number;
  b: number;
  c: number;
}

/** Reads an algorithm's state `S` from the state columns, and writes it to them. */
export interface Codec<S> {
  read(columns: StateColumns): S;
  write(state: S): StateColumns;
}

/** Each algorithm's codec, by name. */
export const COLUMNS = {
  gcra: {
    read: ({ a, b, c }) => ({ tatUs: a, tatTicks: b, ticksPerUs: c }),
    write: ({ tatUs, tatTicks, ticksPerUs }) => ({ a: tatUs, b: tatTicks, c: ticksPerUs }),
  } satisfies Codec<GcraState>,
  "sliding-window": {
    read: ({ a, b, c }) => ({ windowStart: a, current: b, previous: c }),
    write: ({ windowStart, current, previous }) => ({ a: windowStart, b: current, c: previous }),
  } satisfies Codec<SlidingWindowState>,
  "fixed-window": {
    read: ({ a, b }) => ({ windowStart: a, count: b }),
    write: ({ windowStart, count }) => ({ a: windowStart, b: count, c: 0 }),
  } satisfies Codec<FixedWindowState>,
} as const;

/** `algorithm` over the state columns: the state is read from them before deciding and written to them after. */
export function onColumns<S>(algorithm: Algorithm<S>, codec: Codec<S>): Algorithm<StateColumns> {
  const read = (columns: StateColumns | null) => (columns === null ? null : codec.read(columns));
  const write = (decision: Decision<S>) => ({ ...decision, state: codec.write(decision.state) });
  return {
    check: (rate, columns, now, cost) => write(algorithm.check(rate, read(columns), now, cost)),
    refund: (rate, columns, now, cost) => write(algorithm.refund(rate, read(columns), now, cost)),
  };
}
