import { BudgetError } from '@budgetry/core';

/**
 * @internal Whether a token budget refused a record because an earlier attempt of it, whose
 * answer was lost, was applied: `ALREADY_SETTLED` with `details.earlierAttempt` (a Redis token
 * budget's answer to a retried `recordUsage`). The reservation is recorded, once; the retry
 * has nothing left to do.
 */
export function appliedBefore(error: unknown): boolean {
  return (
    BudgetError.isInstance(error) &&
    error.code === 'ALREADY_SETTLED' &&
    error.details?.['earlierAttempt'] === true
  );
}
