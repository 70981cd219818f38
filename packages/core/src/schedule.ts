import { BudgetError } from './budget-error.js';
import { invalidOption } from './options.js';

/**
 * @internal Validates a schedule a budget is asked to follow (see
 * `AtomicBudget.followSchedule`): a function, and no other schedule attached.
 */
export function checkSchedule(
  catchUp: unknown,
  attached: boolean,
  budget: string | undefined,
): asserts catchUp is () => void {
  if (typeof catchUp !== 'function') throw invalidOption('followSchedule', catchUp, 'a function');
  if (attached) {
    throw new BudgetError({
      code: 'INVALID_ARGUMENT',
      message: 'this budget already follows a refill schedule; detach it first',
      details: { budget },
    });
  }
}
