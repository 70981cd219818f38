import type { AtomicBudgetSnapshot } from '../budgets/atomic-options.js';

/**
 * A point-in-time view of a {@link SharedBudget}, read in one step across all threads.
 *
 * @example
 * ```ts
 * import { SharedBudget } from '@budgetry/core';
 *
 * const rows = new SharedBudget(10);
 * rows.tryReserveSync(4);
 * const { available, held, handles } = rows.snapshot(); // 6, 4, 1
 * rows.close();
 * ```
 */
export interface SharedBudgetSnapshot extends AtomicBudgetSnapshot {
  /** Units given back because the handle holding them expired or its thread exited. */
  readonly reclaimed: number;
  /** Handles whose holds were given back that way. */
  readonly reclaimedHandles: number;
  /** Handles open now, across all threads. */
  readonly handles: number;
  /**
   * Units striped handles took from the pool into their slices, free or held there; neither
   * `available` nor `held` counts them.
   */
  readonly sliced: number;
  /** Callers waiting in `acquire` now, across all threads. */
  readonly waiting: number;
  /** Times the lock was taken over from a thread that stopped while holding it. */
  readonly lockTakeovers: number;
}
