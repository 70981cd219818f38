import type { Target } from './row.js';

/** A target with the figure it was checked on. */
export interface TargetResult extends Target {
  /** The ratio (or, without `against`, the row's median) compared with the bounds. */
  readonly value: number | null;
  /** `null` when the figure could not be taken, e.g. the `against` row was filtered out. */
  readonly met: boolean | null;
}

/** What the table's last column says for a row. */
export type TargetStatus = 'met' | 'short' | 'n/a';

/**
 * Checks one target.
 *
 * @param target - the bounds.
 * @param value - the ratio against `target.against`, or the row's own median without it;
 * `null` when it could not be measured.
 * @returns the target with its figure and verdict.
 * @example
 * ```ts
 * checkTarget({ label: '≥ 0.5×', against: 'plain-sync', atLeast: 0.5 }, 0.62).met; // true
 * ```
 */
export function checkTarget(target: Target, value: number | null): TargetResult {
  if (value === null || !Number.isFinite(value)) return { ...target, value, met: null };
  const aboveFloor = target.atLeast === undefined || value >= target.atLeast;
  const belowCeiling = target.atMost === undefined || value <= target.atMost;
  return { ...target, value, met: aboveFloor && belowCeiling };
}

/**
 * Folds a row's targets into one verdict: `short` if any target is missed, `n/a` if none
 * is missed but one could not be checked, `met` if all are met.
 *
 * @param results - the row's checked targets.
 * @returns the verdict, or `null` for a row without targets.
 */
export function overallStatus(results: readonly TargetResult[]): TargetStatus | null {
  if (results.length === 0) return null;
  if (results.some((result) => result.met === false)) return 'short';
  if (results.some((result) => result.met === null)) return 'n/a';
  return 'met';
}
