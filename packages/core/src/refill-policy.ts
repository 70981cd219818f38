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
