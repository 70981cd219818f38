import { BudgetError, type Clock, systemClock } from '@budgetry/core';

/**
 * @internal A clock given in options, as compose reads it: a `now()` or `setTimer()` that
 * throws surfaces as a `BACKEND` `BudgetError` with the clock's error as `cause`, as every
 * other failure under an operation does, instead of whatever the clock threw. It throws
 * before anything changes (a schedule reads the clock before it refills, a waiting line arms
 * its timers before a waiter joins). The system clock is taken as it is.
 */
export function checkedClock(clock: Clock): Clock {
  if (clock === systemClock) return clock;
  return {
    now: () => {
      try {
        return clock.now();
      } catch (error) {
        throw clockFailure(error);
      }
    },
    setTimer: (callback, delayMs) => {
      try {
        return clock.setTimer(callback, delayMs);
      } catch (error) {
        throw clockFailure(error);
      }
    },
  };
}

function clockFailure(error: unknown): BudgetError {
  if (BudgetError.isInstance(error)) return error;
  return new BudgetError({
    code: 'BACKEND',
    message: `the clock failed: ${error instanceof Error ? error.message : String(error)}`,
    cause: error,
  });
}
