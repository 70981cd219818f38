import type { Clock } from '@budgetry/core';
import { assertAmount } from '@budgetry/core';
import { invalid } from '../internal/member-list.js';
import { type RefillingGuard, type RefillingTokenBudget, schedule } from './scheduled-budget.js';
import type { EpochBoundaries } from './scheduler-options.js';
import type { RefillableGuard, RefillableTokenBudget, RefillBudgetSpec } from './targets.js';

/**
 * Options for {@link lazyRefill} and {@link intervalRefill}.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { type IntervalOptions, lazyRefill } from '@budgetry/compose';
 *
 * // Epochs on the hour: the first one began at the last full hour.
 * const hour = 3_600_000;
 * const startAt = Math.floor(Date.now() / hour) * hour;
 * const options: IntervalOptions = { intervalMs: hour, startAt };
 * const hourly = lazyRefill(new AtomicBudget(500), options);
 * console.log(hourly.nextRefillAt() === startAt + hour); // true
 * ```
 */
export interface IntervalOptions {
  /** Epoch length in milliseconds: a positive safe integer. */
  intervalMs: number;
  /** The source of time (default `systemClock`). */
  clock?: Clock;
  /**
   * When an epoch began, in clock milliseconds (default: now): it sets the phase of the
   * boundaries, which fall every `intervalMs` from it, before it as well as after (a time in
   * the future does not delay the first refill).
   */
  startAt?: number;
  /**
   * Told about errors with no caller to go to: a refill listener that threw, or a refill the
   * timer could not apply; see {@link RefillSchedulerOptions.onError}. Default: a process
   * warning of type `BudgetryRefillWarning`.
   */
  onError?: (error: unknown) => void;
}

/** @internal Fixed-length epochs from `startAt`. */
export function intervalBoundaries(options: IntervalOptions): (clock: Clock) => EpochBoundaries {
  const { intervalMs, startAt } = options;
  if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) {
    throw invalid(`intervalMs must be a positive safe integer, got ${String(intervalMs)}`, {
      intervalMs,
    });
  }
  if (startAt !== undefined) assertAmount(startAt, 'startAt');
  return (clock) => {
    const origin = startAt ?? clock.now();
    const index = (t: number) => Math.floor((t - origin) / intervalMs);
    return {
      next: (t) => origin + (index(t) + 1) * intervalMs,
      index,
      periodMs: intervalMs,
    };
  };
}

/**
 * Refill a budget every `intervalMs`, computed from the clock whenever the budget is used:
 * no timer at all. Each crossed boundary is one epoch; the budget's own policy decides what
 * a refill does (`reset`: full, older reservations fenced off; `carry`: capacity minus what
 * is held), and token budgets pay debt first.
 *
 * When to use: per-period quotas (requests per minute, tokens per hour) in a process that
 * should not keep timers around; denials carry `retryAfterMs` to the next boundary. Pick
 * {@link intervalRefill} when something must happen at the boundary even with no traffic
 * (waking waiters, reporting the refill).
 *
 * @param budget - an `AtomicBudget`, `AtomicTokenBudget` (or any in-process budget with
 * `refill()`), or `{ capacity, policy }` for a fresh `AtomicBudget`.
 * @param options - `intervalMs`, `clock`, `startAt`.
 * @returns the scheduled view of the budget.
 * @throws BudgetError `INVALID_ARGUMENT` for a zero, negative or fractional interval or a
 * value that is not a refillable budget.
 *
 * @example
 * ```ts
 * import { lazyRefill } from '@budgetry/compose';
 *
 * const rpm = lazyRefill({ capacity: 60, policy: 'reset' }, { intervalMs: 60_000 });
 * if (!rpm.tryReserveSync(1)) console.log(`retry in ${rpm.retryAfterMs(1)} ms`);
 * ```
 */
export function lazyRefill<B extends RefillableTokenBudget>(
  budget: B,
  options: IntervalOptions,
): RefillingTokenBudget<B>;
export function lazyRefill<B extends RefillableGuard>(
  budget: B,
  options: IntervalOptions,
): RefillingGuard<B>;
export function lazyRefill(budget: RefillBudgetSpec, options: IntervalOptions): RefillingGuard;
export function lazyRefill(
  budget: unknown,
  options: IntervalOptions,
): RefillingGuard | RefillingTokenBudget {
  const boundaries = intervalBoundaries(options ?? ({} as IntervalOptions));
  return schedule(budget, 'lazyRefill', options, boundaries, false);
}
