/** Medians with their range: the summary every number in the results gets. */

/**
 * @param {number[]} values
 * @returns {{ median: number, min: number, max: number }}
 * @example
 * summarize([3, 1, 2]); // { median: 2, min: 1, max: 3 }
 */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** Rounds for display without trailing noise. */
export function round(value, digits = 2) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
