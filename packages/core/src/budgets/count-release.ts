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

/**
 * @internal What combinators call on `AtomicBudget` and `AtomicTokenBudget`, always with a
 * `cost` they checked (a safe integer above 0). `countFits(cost)` says whether
 * `tryReserveSync(cost)` would grant with nobody to tell — no observer, and the method not
 * replaced on the instance, as a refill schedule does — and changes nothing; `countTake(cost)`,
 * called right after it returned `true`, does to the counts what that call would have done.
 * `countHolds` and `countGive` are the same for `releaseSync(cost)` returning all of `cost`.
 */
export interface CountCells {
  countFits(cost: number): boolean;
  countTake(cost: number): void;
  countHolds(cost: number): boolean;
  countGive(cost: number): void;
}

/**
 * @internal What a core budget's count API compares the instance's methods with while an
 * observer listens: an object no one else can reach, so no method, `null` included, equals it.
 */
export const OBSERVED: unknown = Object.freeze({});
