import { BudgetError } from './budget-error.js';
import type { BudgetObserver } from './observer.js';

/** @internal Validates the options every in-process budget shares. */
export function checkCommonOptions(options: object): void {
  const { observer, name, leakBackstop } = options as Record<string, unknown>;
  if (observer !== undefined && typeof observer !== 'function') {
    throw invalidOption('observer', observer, 'a function');
  }
  if (name !== undefined && typeof name !== 'string') {
    throw invalidOption('name', name, 'a string');
  }
  if (leakBackstop !== undefined && typeof leakBackstop !== 'boolean') {
    throw invalidOption('leakBackstop', leakBackstop, 'a boolean');
  }
}

/** @internal */
export function invalidOption(name: string, value: unknown, expected: string): BudgetError {
  return new BudgetError({
    code: 'INVALID_ARGUMENT',
    message: `option ${name} must be ${expected}, got ${typeof value}`,
    details: { name, value },
  });
}

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
