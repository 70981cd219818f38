import type { BudgetObserver } from './events.js';

/**
 * Options every in-process budget accepts.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type CommonBudgetOptions } from '@budgetry/core';
 *
 * const common: CommonBudgetOptions = { name: 'queue-slots', leakBackstop: false };
 * const slots = new AtomicBudget(32, common);
 * ```
 */
export interface CommonBudgetOptions {
  /** Receives every event of the budget; absent means zero overhead. */
  observer?: BudgetObserver;
  /** A label carried in observer events and error details. */
  name?: string;
  /**
   * Refund handles that are garbage-collected while still armed, and report them as leaks
   * (default `true`). Turning it off saves a `FinalizationRegistry` registration per handle.
   */
  leakBackstop?: boolean;
}
