/** Median, minimum and maximum of a set of samples. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/**
 * Summarizes samples; the median of an even count is the mean of the middle two.
 *
 * @param samples - at least one finite number, in any order.
 * @returns median, min and max.
 * @example
 * ```ts
 * summarize([3, 1, 2]); // { median: 2, min: 1, max: 3 }
 * ```
 */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('summarize needs at least one sample');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/**
 * Ratio of two rows measured in interleaved rounds. Round `i` of both rows ran within one
 * pass over the rows, under the same machine load, so the median of the per-round ratios
 * cancels most of the noise a shared machine adds; with unequal counts (a row added
 * mid-run, a failed round) it falls back to the ratio of the medians.
 *
 * @param samples - the row's samples, one per round.
 * @param against - the other row's samples, one per round.
 * @returns the median ratio, or `null` when either side is empty or the divisor is 0.
 */
export function pairedRatio(samples: readonly number[], against: readonly number[]): number | null {
  if (samples.length === 0 || against.length === 0) return null;
  if (samples.length !== against.length) {
    const divisor = summarize(against).median;
    return divisor === 0 ? null : summarize(samples).median / divisor;
  }
  const ratios: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    const divisor = against[i]!;
    if (divisor === 0) return null;
    ratios.push(samples[i]! / divisor);
  }
  return summarize(ratios).median;
}
