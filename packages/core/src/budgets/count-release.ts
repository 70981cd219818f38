import { BudgetError } from '../spec/budget-error.js';
import type { BudgetObserver } from '../spec/events.js';

/**
 * @internal The part of a count-API release that is accepted: all of it when the count API
 * holds that much, otherwise what it holds — the rest is an over-release, which `strict`
 * budgets refuse with `OVER_RELEASE` before anything changes.
 */
export function acceptedRelease(
  cost: number,
  held: number,
  strict: boolean,
  budget: string | undefined,
): number {
  if (cost <= held) return cost;
  if (strict) {
    throw new BudgetError({
      code: 'OVER_RELEASE',
      message: `release(${cost}) exceeds the ${held} units held through tryReserve`,
      details: { budget, cost, held },
    });
  }
  return held;
}

/** @internal Tells the observer about a count-API release, and about its excess if any. */
export function reportCountRelease(
  observer: BudgetObserver,
  budget: string | undefined,
  cost: number,
  accepted: number,
  available: number,
): void {
  observer({ type: 'release', budget, cost, refunded: accepted, available });
  if (accepted !== cost) {
    observer({ type: 'over-release', budget, requested: cost, accepted, excess: cost - accepted });
  }
}
