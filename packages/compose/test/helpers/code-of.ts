import { BudgetError } from '@budgetry/core';

/** The `BudgetError` code `run` throws, `'accepted'` when it throws nothing, or what else it threw. */
export function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : `not a BudgetError: ${String(error)}`;
  }
  return 'accepted';
}
