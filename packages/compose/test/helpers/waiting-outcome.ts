import { AtomicBudget, BudgetError, type SyncBudgetPermit } from '@budgetry/core';

/** Lets every pending microtask and the current macrotask's callbacks run. */
export const flush = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * How a waiting line's promise ended, read at any time: `granted <cost>`, a BudgetError's
 * code, `not a BudgetError: …`, or `pending`; and the permit once granted.
 */
export function outcome(p: Promise<SyncBudgetPermit>): {
  now: () => string;
  permit: () => SyncBudgetPermit;
} {
  let state = 'pending';
  let got: SyncBudgetPermit | undefined;
  p.then(
    (permit) => {
      got = permit;
      state = `granted ${permit.cost}`;
    },
    (error) => {
      state = BudgetError.isInstance(error) ? error.code : `not a BudgetError: ${String(error)}`;
    },
  );
  return { now: () => state, permit: () => got! };
}

/**
 * An exact AtomicBudget (backstop off) whose subscriptions are counted on the instance, so it
 * stays the class a waiting line hands bare permits for: `active()` subscriptions now,
 * `taken()` ever.
 */
export function counted(
  capacity: number,
  options: ConstructorParameters<typeof AtomicBudget>[1] = {},
): { budget: AtomicBudget; active: () => number; taken: () => number } {
  const budget = new AtomicBudget(capacity, { leakBackstop: false, ...options });
  let active = 0;
  let taken = 0;
  const subscribe = budget.subscribe.bind(budget);
  budget.subscribe = (listener) => {
    active++;
    taken++;
    const stop = subscribe(listener);
    let stopped = false;
    return () => {
      if (!stopped) active--;
      stopped = true;
      stop();
    };
  };
  return { budget, active: () => active, taken: () => taken };
}
