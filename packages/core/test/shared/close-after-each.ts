import { afterEach } from 'vitest';

/** Returns `track(budget)`, which has the budget closed after the current test. */
export function closedAfterEach<T extends { close(): void }>(): (budget: T) => T {
  const open: T[] = [];
  afterEach(() => {
    for (const budget of open.splice(0)) budget.close();
  });
  return (budget) => {
    open.push(budget);
    return budget;
  };
}
