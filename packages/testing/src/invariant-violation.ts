import type { InvariantId } from './invariant-catalog.js';

/**
 * Thrown inside a single property run when an invariant is broken; the runner turns it into
 * a {@link ConformanceError} once fast-check has shrunk the counterexample.
 *
 * @example
 * ```ts
 * import { InvariantViolation } from '@budgetry/testing';
 * const v = new InvariantViolation('G3', 'available 7, expected 6');
 * console.log(v.invariant); // 'G3'
 * ```
 */
export class InvariantViolation extends Error {
  /** The invariant that was broken. */
  readonly invariant: InvariantId;

  /**
   * @param invariant - the broken invariant's id.
   * @param message - what was observed and what was expected.
   */
  constructor(invariant: InvariantId, message: string) {
    super(`${invariant}: ${message}`);
    this.name = 'InvariantViolation';
    this.invariant = invariant;
  }
}
