import { BudgetError, type Clock, systemClock } from '@budgetry/core';
import { checkedClock } from '../internal/checked-clock.js';
import { describe, invalid } from '../internal/member-list.js';
import { reporter } from '../internal/report.js';

/**
 * Options every refill scheduler takes.
 *
 * @example
 * ```ts
 * import { type Clock, systemClock } from '@budgetry/core';
 * import { calendarRefill, type RefillSchedulerOptions } from '@budgetry/compose';
 *
 * const clock: Clock = systemClock; // a fake clock in tests
 * const onError = (error: unknown) => console.error('refill schedule:', error);
 * const scheduling: RefillSchedulerOptions = { clock, timer: true, onError };
 * using daily = calendarRefill({ capacity: 1_000 }, { unit: 'day', ...scheduling });
 * ```
 */
export interface RefillSchedulerOptions {
  /**
   * The source of time (default `systemClock`). A clock that throws fails the operation that
   * read it with a `BACKEND` `BudgetError` (its error as `cause`), before anything changed.
   */
  clock?: Clock;
  /**
   * Also refill from a timer at each boundary (unref'd; stopped by `close()`), so refills
   * happen, and waiters wake, even when nobody touches the budget. Without it, refills are
   * computed from the clock on access only.
   */
  timer?: boolean;
  /**
   * Told about errors that have no caller to go to: a refill listener that threw (the other
   * listeners are still told), or a refill the timer could not apply (the timer tries again
   * within a second; an access retries it at once). Default: a process warning of type
   * `BudgetryRefillWarning`. Nothing is ever thrown out of a timer.
   */
  onError?: (error: unknown) => void;
}

/**
 * Told after each refill the scheduler performs. A listener that throws does not stop the
 * others, the schedule or the operation that caught up: its error goes to the scheduler's
 * `onError` (by default, a process warning).
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { intervalRefill, type RefillListener } from '@budgetry/compose';
 *
 * using perMinute = intervalRefill(new AtomicBudget(60), { intervalMs: 60_000 });
 * const log: RefillListener = (epoch) => console.log(`epoch ${epoch} began`);
 * const stop = perMinute.subscribe(log);
 * stop();
 * ```
 */
export type RefillListener = (epoch: number) => void;

/** @internal When epochs begin. */
export interface EpochBoundaries {
  /**
   * The first boundary strictly after `t`; anything but a safe integer (`NaN`, beyond
   * 2^53 − 1) means there is none ahead, and the scheduler refills no more.
   */
  next(t: number): number;
  /**
   * A number that grows by one at each boundary (local periods since some origin), so the
   * boundaries crossed between two instants are the difference of their indices — except
   * where `countAfter` says otherwise.
   */
  index(t: number): number;
  /**
   * The boundaries in `(a, t]`, when the index difference may be wrong there (a day, week or
   * month calendar's, across a date a zone left out); absent, the scheduler takes
   * `index(t) − index(a)`.
   */
  countAfter?(a: number, t: number): number;
  /**
   * The length of every period, when they are all equal (an interval schedule); absent for
   * calendars. A shared budget's handles in other threads use it to go on alone.
   */
  readonly periodMs?: number;
}

/** @internal Where a scheduler reports what it cannot throw to a caller. */
export type ReportFailure = (error: unknown) => void;

/** @internal A scheduler's validated `clock`, `timer` check and error reporting. */
export interface SchedulerSetup {
  readonly clock: Clock;
  readonly report: ReportFailure;
}

/** @internal Validates `clock`, `timer` and `onError`. */
export function checkSchedulerOptions(options: RefillSchedulerOptions): SchedulerSetup {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`scheduler options must be an object, got ${describe(options)}`, {});
  }
  const { clock, timer, onError } = options;
  if (
    clock !== undefined &&
    (typeof clock?.now !== 'function' || typeof clock?.setTimer !== 'function')
  ) {
    throw invalid('option clock must have now() and setTimer()', {});
  }
  if (timer !== undefined && typeof timer !== 'boolean') {
    throw invalid('option timer must be a boolean', { timer });
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw invalid(`option onError must be a function, got ${describe(onError)}`, {});
  }
  return {
    clock: checkedClock(clock ?? systemClock),
    report: reporter(onError, 'refill schedule', 'BudgetryRefillWarning'),
  };
}

/**
 * @internal What a failed refill surfaces as: the budget's own `BudgetError`, or any other
 * exception wrapped as `BACKEND` with it as `cause`.
 */
export function refillFailure(error: unknown): BudgetError {
  if (BudgetError.isInstance(error)) return error;
  return new BudgetError({
    code: 'BACKEND',
    message: `the scheduled refill failed: ${error instanceof Error ? error.message : String(error)}`,
    cause: error,
  });
}
