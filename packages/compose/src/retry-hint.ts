/**
 * Implemented by budgets whose refill schedule knows when a denied request could succeed:
 * the refill schedulers, the token bucket and the sliding window. Combinators read it to
 * put `retryAfterMs` in a denial, and waiters to sleep exactly until then instead of polling.
 *
 * @example
 * ```ts
 * import { tokenBucket } from '@budgetry/compose';
 *
 * const rpm = tokenBucket({ burst: 60, rate: 1 });
 * if (!rpm.tryReserveSync(1)) console.log(rpm.retryAfterMs(1));
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
 * The retry hint of `budget` for `cost`, when it has one.
 *
 * @param budget - any budget.
 * @param cost - the units wanted.
 * @returns milliseconds, or `undefined` when `budget` gives no hint.
 *
 * @example
 * ```ts
 * import { retryAfterOf, tokenBucket } from '@budgetry/compose';
 * retryAfterOf(tokenBucket({ burst: 1, rate: 1 }), 1); // 0
 * ```
 */
export function retryAfterOf(budget: unknown, cost: number): number | undefined {
  const hint = (budget as Partial<RetryHint> | null)?.retryAfterMs;
  if (typeof hint !== 'function') return undefined;
  const ms = hint.call(budget, cost);
  return typeof ms === 'number' && ms >= 0 && Number.isFinite(ms) ? ms : undefined;
}
