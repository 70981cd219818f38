import type { BudgetObserver } from '@budgetry/core';
import { describe, invalid } from './invalid.js';

/**
 * A budget that can be watched: it reports its events to listeners added with `subscribe`,
 * and says how full it is. `AtomicBudget`, `AtomicTokenBudget`, `TokenBucket`,
 * `SlidingWindow`, the shared-memory budgets and `@budgetry/compose` hierarchy nodes are
 * watchable; so is any budget of your own with these members. A refill scheduler from
 * `@budgetry/compose` is not (its `subscribe` hears epochs only): watch the budget it drives,
 * `scheduled.budget`, whose events include the refills.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import type { WatchableBudget } from '@budgetry/otel';
 *
 * const tokens: WatchableBudget = new AtomicTokenBudget(90_000);
 * console.log(tokens.capacity - tokens.available()); // 0 used so far
 * ```
 */
export interface WatchableBudget {
  /** Total units. */
  readonly capacity: number;
  /** Units that can be reserved right now. */
  available(): number;
  /** Units owed beyond capacity (token budgets); absent means the budget cannot owe. */
  debt?(): number;
  /** Adds a listener for the budget's events. */
  subscribe(listener: BudgetObserver): () => void;
}

/** @internal Throws `INVALID_ARGUMENT` unless `budget` is a {@link WatchableBudget}. */
export function checkWatchable(budget: unknown): asserts budget is WatchableBudget {
  const b = budget as Partial<Record<keyof WatchableBudget, unknown>> | null;
  if (typeof budget !== 'object' || b === null) {
    throw invalid(`expected a budget to watch, got ${describe(budget)}`);
  }
  if (typeof b.subscribe !== 'function' || typeof b.available !== 'function') {
    throw invalid('a watched budget needs subscribe(listener) and available()', {});
  }
  if (!Number.isSafeInteger(b.capacity) || (b.capacity as number) < 0) {
    throw invalid(`a watched budget needs a capacity, got ${describe(b.capacity)}`, {});
  }
  if (b.debt !== undefined && typeof b.debt !== 'function') {
    throw invalid('a watched budget’s debt must be a method', {});
  }
}

/**
 * @internal How full `budget` is: what is owed this epoch (reserved, spent and debt) over
 * capacity. Above 1 while the budget is in debt; 0 for a budget of capacity 0, as core's
 * `utilization()`.
 */
export function utilizationOf(budget: WatchableBudget): number {
  const capacity = budget.capacity;
  if (capacity === 0) return 0;
  const owed = capacity - budget.available() + (budget.debt?.() ?? 0);
  return owed / capacity;
}
