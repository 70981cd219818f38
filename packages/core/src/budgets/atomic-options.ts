import type { CommonBudgetOptions } from '../spec/options.js';
import type { RefillPolicy } from '../spec/refill-policy.js';

/**
 * Options for {@link AtomicBudget}.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type AtomicBudgetOptions } from '@budgetry/core';
 *
 * const options: AtomicBudgetOptions = { refillPolicy: 'carry', strict: true, name: 'rows' };
 * const rows = new AtomicBudget(1_000, options);
 * ```
 */
export interface AtomicBudgetOptions extends CommonBudgetOptions {
  /** What `refill()` does with reservations still held (default `'reset'`). */
  refillPolicy?: RefillPolicy;
  /**
   * Make an over-release on the count API (`release(cost)` beyond what `tryReserve` holds)
   * throw `OVER_RELEASE` instead of being clamped, counted and reported (default `false`).
   */
  strict?: boolean;
}

/**
 * A point-in-time view of an {@link AtomicBudget}, for tests and telemetry.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 *
 * const rows = new AtomicBudget(10);
 * rows.tryReserveSync(4);
 * const { available, held } = rows.snapshot(); // 6, 4
 * ```
 */
export interface AtomicBudgetSnapshot {
  readonly capacity: number;
  readonly available: number;
  /** Units reserved and not yet released: count API plus held permits of live epochs. */
  readonly held: number;
  readonly epoch: number;
  /** Units the count API was asked to release beyond what it held, and ignored. */
  readonly overReleased: number;
  /** Permits that were garbage-collected while held. */
  readonly leaks: number;
}

/**
 * Options for {@link AtomicTokenBudget}.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget, type AtomicTokenBudgetOptions } from '@budgetry/core';
 *
 * // Never carry more than 5 000 tokens of debt into later calls.
 * const options: AtomicTokenBudgetOptions = { maxDebt: 5_000, name: 'tokens' };
 * const tokens = new AtomicTokenBudget(100_000, options);
 * ```
 */
export interface AtomicTokenBudgetOptions extends CommonBudgetOptions {
  /** What `refill()` does with reservations still armed (default `'reset'`). */
  refillPolicy?: RefillPolicy;
  /**
   * Make an over-release on the count API (`releaseSync(cost)` beyond what `tryReserveSync`
   * holds) throw `OVER_RELEASE` instead of being clamped, counted and reported (default
   * `false`).
   */
  strict?: boolean;
  /**
   * The most debt the budget carries; overage beyond it is written off, counted in
   * {@link AtomicTokenBudget.forgivenDebt} and reported. Default: unlimited (exact debt up
   * to 2^53 − 1, the most a number counts exactly; beyond that it is written off the same way).
   */
  maxDebt?: number;
}

/**
 * A point-in-time view of an {@link AtomicTokenBudget}, for tests and telemetry.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 *
 * const tokens = new AtomicTokenBudget(100);
 * tokens.recordUsageSync(tokens.tryReserveTokensSync(100)!, 120, 0);
 * const { available, debt, consumed } = tokens.snapshot(); // 0, 20, 120
 * ```
 */
export interface AtomicTokenBudgetSnapshot {
  readonly capacity: number;
  readonly available: number;
  readonly debt: number;
  /** Sum of the estimates of armed reservations and count reservations in live epochs. */
  readonly reserved: number;
  /** Tokens the count API was asked to release beyond what it held, and ignored. */
  readonly overReleased: number;
  readonly consumed: number;
  readonly epoch: number;
  readonly forgivenDebt: number;
  readonly leaks: number;
}
