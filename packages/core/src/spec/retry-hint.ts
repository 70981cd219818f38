import { capabilitiesOf } from './capabilities.js';

/**
 * Implemented by budgets whose refill schedule knows when a denied request could succeed:
 * the refill schedulers, the token bucket and the sliding window. Combinators read it to
 * put `retryAfterMs` in a denial, and waiters to sleep exactly until then instead of polling.
 *
 * @example
 * ```ts
 * import type { RetryHint } from '@budgetry/core';
 *
 * // A quota that opens again at the top of the next second.
 * const hint: RetryHint = { retryAfterMs: () => 1_000 - (Date.now() % 1_000) };
 * console.log(hint.retryAfterMs(1)); // at most 1000
 * ```
 */
export interface RetryHint {
  /**
   * How long until `cost` could be reserved, if nothing else changes.
   *
   * @param cost - the units wanted.
   * @returns milliseconds (0 when it would succeed now), or `undefined` when the schedule
   * cannot say (for example when the units must first be released by a holder).
   */
  retryAfterMs(cost: number): number | undefined;
}

/**
 * The retry hint of `budget` for `cost`, when it declares one (capability `retryHint`).
 *
 * @param budget - any budget.
 * @param cost - the units wanted.
 * @returns milliseconds, or `undefined` when `budget` gives no hint.
 *
 * @example
 * ```ts
 * import { AtomicBudget, retryAfterOf } from '@budgetry/core';
 * retryAfterOf(new AtomicBudget(1), 1); // undefined: a plain budget cannot say
 * ```
 */
export function retryAfterOf(budget: unknown, cost: number): number | undefined {
  if (!capabilitiesOf(budget).retryHint) return undefined;
  const ms = (budget as RetryHint).retryAfterMs(cost);
  return typeof ms === 'number' && ms >= 0 && Number.isFinite(ms) ? ms : undefined;
}
