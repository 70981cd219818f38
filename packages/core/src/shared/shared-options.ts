import {
  checkCommonOptions,
  describe,
  invalid,
  invalidOption,
  strictOf,
} from '../budgets/options.js';
import { assertAmount } from '../spec/amount.js';
import type { Clock } from '../spec/clock.js';
import type { BudgetObserver } from '../spec/events.js';
import type { CommonBudgetOptions } from '../spec/options.js';
import type { RefillPolicy } from '../spec/refill-policy.js';

/**
 * Options for a shared budget's creator (`new SharedBudget(…)`, `new SharedTokenBudget(…)`).
 *
 * @example
 * ```ts
 * import { SharedBudget, type SharedBudgetOptions } from '@budgetry/core';
 *
 * const options: SharedBudgetOptions = { name: 'rows', maxHandles: 8, leaseMs: 5_000 };
 * const rows = new SharedBudget(1_000, options);
 * rows.close();
 * ```
 */
export interface SharedBudgetOptions extends CommonBudgetOptions {
  /** What `refill()` does with units still held (default `'reset'`). */
  refillPolicy?: RefillPolicy;
  /** Make an over-release on the count API throw `OVER_RELEASE` (default `false`). */
  strict?: boolean;
  /**
   * How many handles may be open at once across all threads: the creator's, and one per
   * `open()` (default 64, at most 4 096). Each takes 128 bytes of the shared buffer.
   */
  maxHandles?: number;
  /** How many callers may wait in `acquire` at once across all threads (default 1 024). */
  maxWaiters?: number;
  /**
   * How long a handle may go without a heartbeat before another thread may give back what
   * it holds (default 30 000 ms, at least 1 000). Every open handle beats every `leaseMs / 4`
   * on an unref'd timer and every 4 096 calls, so only a thread that died, or blocked without
   * touching the budget that long, misses it.
   */
  leaseMs?: number;
  /** The clock heartbeats and leases are read from (default: the system clock). */
  clock?: Clock;
}

/**
 * Options for a handle opened in another thread (`SharedBudget.open(descriptor, options)`).
 *
 * @example
 * ```ts
 * import type { SharedOpenOptions } from '@budgetry/core';
 *
 * const options: SharedOpenOptions = { observer: (event) => console.log(event.type) };
 * ```
 */
export interface SharedOpenOptions {
  /** Receives the events of calls made through this handle. */
  observer?: BudgetObserver;
  /** Refund permits garbage-collected while held (default `true`). */
  leakBackstop?: boolean;
  /** The clock heartbeats and leases are read from (default: the system clock). */
  clock?: Clock;
}

/** @internal The creator's options, checked, with defaults. */
export interface CheckedSharedOptions {
  readonly maxHandles: number;
  readonly maxWaiters: number;
  readonly leaseMs: number;
}

function checkCount(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
    throw invalid(`option ${name} must be an integer from 1 to ${max}, got ${describe(value)}`, {
      name,
      value,
    });
  }
  return value as number;
}

/** @internal Checks what every shared-budget constructor accepts. */
export function checkSharedOptions(
  capacity: unknown,
  options: SharedBudgetOptions,
): CheckedSharedOptions {
  assertAmount(capacity, 'capacity');
  if (typeof options !== 'object' || options === null) {
    throw invalid(`options must be an object, got ${describe(options)}`, {});
  }
  checkCommonOptions(options);
  strictOf(options.strict);
  checkClock(options.clock);
  return {
    maxHandles: checkCount('maxHandles', options.maxHandles, 64, 4096),
    maxWaiters: checkCount('maxWaiters', options.maxWaiters, 1024, 65_536),
    leaseMs: checkLease(options.leaseMs),
  };
}

/** @internal Checks a handle's options in `open`. */
export function checkOpenOptions(options: SharedOpenOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`open options must be an object, got ${describe(options)}`, {});
  }
  checkCommonOptions(options);
  checkClock(options.clock);
}

/**
 * The shortest lease: a lock is taken over from a holder silent for two leases, so a lease
 * must outlast any pause the OS or the garbage collector can impose on a live thread.
 */
export const MIN_LEASE_MS = 1_000;

/** @internal Checks `leaseMs`: default 30 000, at least {@link MIN_LEASE_MS}. */
export function checkLease(value: unknown): number {
  if (value === undefined) return 30_000;
  if (
    !Number.isSafeInteger(value) ||
    (value as number) < MIN_LEASE_MS ||
    (value as number) > 2 ** 31 - 1
  ) {
    throw invalid(
      `option leaseMs must be an integer from ${MIN_LEASE_MS} to ${2 ** 31 - 1} ms, got ${describe(value)}`,
      { name: 'leaseMs', value },
    );
  }
  return value as number;
}

function checkClock(clock: unknown): void {
  if (clock === undefined) return;
  const c = clock as Partial<Clock> | null;
  if (typeof c?.now !== 'function' || typeof c.setTimer !== 'function') {
    throw invalidOption('clock', clock, 'a Clock (now() and setTimer())');
  }
}
