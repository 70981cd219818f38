import { describe, test } from 'vitest';
import { type GuardSuite, suite, type TokenBudgetSuite } from './suite.js';

/**
 * {@link suite} bound to vitest: a `describe` block named after the backend with one test per
 * area that applies to it.
 *
 * @param spec - the backend's name, kind, factory, capabilities and check options.
 * @returns the titles of the registered tests.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { describeConformance } from '@budgetry/testing/vitest';
 *
 * describeConformance({
 *   name: 'AtomicBudget',
 *   kind: 'guard',
 *   factory: ({ capacity }) => new AtomicBudget(capacity),
 *   capabilities: { available: true, permits: true },
 * });
 * ```
 */
export function describeConformance(
  spec: Omit<GuardSuite, 'test' | 'describe'> | Omit<TokenBudgetSuite, 'test' | 'describe'>,
): string[] {
  return suite({ ...spec, test, describe } as GuardSuite | TokenBudgetSuite);
}
