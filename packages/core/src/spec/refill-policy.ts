import { BudgetError } from './budget-error.js';

/**
 * What a refill does with reservations that are still held when a new epoch begins.
 *
 * - `reset`: the new epoch starts full. Reservations taken in an older epoch are fenced off:
 *   releasing or disposing them returns nothing, so they cannot inflate the new epoch.
 *   This is the reference's `refill()` made safe, and the default.
 * - `carry`: the new epoch starts at capacity minus what is still held; those reservations
 *   stay live and return their units when released.
 *
 * Either way, outstanding debt is paid first out of the refill.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type RefillPolicy } from '@budgetry/core';
 *
 * const policy: RefillPolicy = 'carry';
 * const budget = new AtomicBudget(10, { refillPolicy: policy });
 * const held = budget.tryAcquireSync(8);
 * budget.refill(); // available 2: the 8 still held are carried into the new epoch
 * ```
 */
export type RefillPolicy = 'reset' | 'carry';

/** @internal Validates a refill policy option. */
export function checkRefillPolicy(value: unknown): RefillPolicy {
  if (value === undefined) return 'reset';
  if (value === 'reset' || value === 'carry') return value;
  throw new BudgetError({
    code: 'INVALID_ARGUMENT',
    message: `refillPolicy must be 'reset' or 'carry', got ${String(value)}`,
    details: { name: 'refillPolicy', value },
  });
}
