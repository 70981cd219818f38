import { type IntervalOptions, intervalBoundaries } from './lazy-refill.js';
import { type RefillingGuard, type RefillingTokenBudget, schedule } from './scheduled-budget.js';
import type { RefillableGuard, RefillableTokenBudget, RefillBudgetSpec } from './targets.js';

/**
 * Refill a budget every `intervalMs` from a timer (unref'd, so it never keeps the process
 * alive; stopped by `close()` or `using`). Access also applies a due refill first, so a late
 * timer never lets a request see the old epoch, and a late tick finding its epoch already
 * refilled does nothing (one refill per epoch).
 *
 * When to use: fixed-period quotas where the boundary itself should act even with no traffic:
 * waiters parked in an {@link WaitingGuard.acquire} queue wake at the refill, subscribers see it. Without
 * that need, {@link lazyRefill} does the same with no timer.
 *
 * @param budget - an in-process budget with `refill()`, or `{ capacity, policy }`.
 * @param options - `intervalMs`, `clock`, `startAt`.
 * @returns the scheduled view of the budget; call `close()` when done.
 * @throws BudgetError `INVALID_ARGUMENT` for a zero, negative or fractional interval.
 *
 * @example
 * ```ts
 * import { intervalRefill } from '@budgetry/compose';
 *
 * using rps = intervalRefill({ capacity: 10 }, { intervalMs: 1_000 });
 * rps.tryReserveSync(1);
 * ```
 */
export function intervalRefill<B extends RefillableTokenBudget>(
  budget: B,
  options: IntervalOptions,
): RefillingTokenBudget<B>;
export function intervalRefill<B extends RefillableGuard>(
  budget: B,
  options: IntervalOptions,
): RefillingGuard<B>;
export function intervalRefill(budget: RefillBudgetSpec, options: IntervalOptions): RefillingGuard;
export function intervalRefill(
  budget: unknown,
  options: IntervalOptions,
): RefillingGuard | RefillingTokenBudget {
  const boundaries = intervalBoundaries(options ?? ({} as IntervalOptions));
  return schedule(budget, 'intervalRefill', options, boundaries, true);
}
