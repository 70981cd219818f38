import {
  type Clock,
  type SyncBudgetGuard,
  type SyncTokenBudget,
  systemClock,
} from '@budgetry/core';
import { checkedClock } from '../internal/checked-clock.js';
import { isSyncGuard } from '../internal/member-kind.js';
import { describe, invalid } from '../internal/member-list.js';
import { isSyncTokenBudget } from '../internal/token-kind.js';
import { tokenGuard } from '../token-guard/index.js';
import { WaitingGuard } from './waiting-guard.js';

/**
 * Options for {@link waiting}.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type Clock, systemClock } from '@budgetry/core';
 * import { type WaitingOptions, waiting } from '@budgetry/compose';
 *
 * const clock: Clock = systemClock; // a fake clock in tests
 * const options: WaitingOptions = { clock };
 * using line = waiting(new AtomicBudget(2), options); // close() rejects whoever still waits
 * const permit = await line.acquire(1, { timeoutMs: 100 });
 * permit.releaseSync();
 * ```
 */
export interface WaitingOptions {
  /**
   * The source of time for timeouts and retry timers (default `systemClock`). A clock that
   * throws is a `BACKEND` `BudgetError` (its error as `cause`) for the waiter it was timing.
   */
  clock?: Clock;
  /**
   * Told about errors no waiter can receive: releasing a permit granted to a waiter that gave
   * up while the guard was granting it failed. A guard that fails while serving a waiter
   * rejects that waiter instead. Default: a process warning of type `BudgetryWaitingWarning`.
   */
  onError?: (error: unknown) => void;
}

/**
 * Put a fair waiting line in front of a guard: `acquire(cost, { signal, timeoutMs,
 * priority })` waits until the reservation can be made instead of failing. First come, first
 * served within a priority, so a large request is not starved by a stream of small ones of
 * its priority (a stream of higher priorities goes first, and can starve it); the head waits
 * for its whole cost, holding up smaller ones behind it. A waiter wakes when units come back
 * (through this guard, or on an underlying core budget that reports its releases through
 * `subscribe`), when a scheduled budget refills, when a rate limiter's or a scheduled
 * hierarchy's retry hint says it will fit, and when a waiting line nested inside empties —
 * never by polling. An aborted or timed-out waiter leaves no trace, a request larger than
 * capacity fails at once, and a cost of 0 is granted at once, even past waiters (it takes
 * nothing).
 *
 * When to use: callers that should queue for budget rather than back off themselves — a
 * worker pool behind a concurrency limit, jobs behind a token bucket, agents behind a
 * scheduled token budget. A release made directly on an `AtomicBudget` or `AtomicTokenBudget`
 * wakes the line too, wherever that budget sits under the guard (behind a refill scheduler
 * or a token guard, or as a member of an all-of or any-of); over other guards (a hierarchy
 * node, a rate limiter), return units through the waiting guard (its permits do it) or call
 * `notify()`.
 *
 * @param guard - a synchronous guard (any combinator over in-process budgets, a scheduled
 * budget, a rate limiter) or a synchronous token budget.
 * @param options - the clock for timeouts and wake timers.
 * @returns the waiting guard; `close()` rejects waiters still in line.
 * @throws BudgetError `INVALID_ARGUMENT` for an asynchronous or unknown guard.
 *
 * @example
 * ```ts
 * import { tokenBucket, waiting } from '@budgetry/compose';
 *
 * const rps = waiting(tokenBucket({ burst: 5, rate: 5 }));
 * const permit = await rps.acquire(1, { timeoutMs: 2_000 });
 * permit.commitSync(); // the request was sent: the token stays spent
 * ```
 */
export function waiting(
  guard: SyncBudgetGuard | SyncTokenBudget,
  options: WaitingOptions = {},
): WaitingGuard {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`waiting options must be an object, got ${describe(options)}`, {});
  }
  const clock = options.clock ?? systemClock;
  if (typeof clock?.now !== 'function' || typeof clock.setTimer !== 'function') {
    throw invalid('option clock must have now() and setTimer()', {});
  }
  const { onError } = options;
  if (onError !== undefined && typeof onError !== 'function') {
    throw invalid(`option onError must be a function, got ${describe(onError)}`, {});
  }
  const g = isSyncTokenBudget(guard) ? tokenGuard(guard) : guard;
  if (typeof g !== 'object' || g === null || !isSyncGuard(g)) {
    throw invalid(
      `waiting expects a synchronous guard or token budget, got ${describe(guard)}`,
      {},
    );
  }
  return new WaitingGuard(g, checkedClock(clock), onError);
}
