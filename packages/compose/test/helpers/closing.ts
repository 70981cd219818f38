import { afterEach } from 'vitest';

/**
 * Budgets (and schedules) a test opened, closed after each test in the reverse order they
 * were opened, so a failing assertion never leaves a handle or a timer behind. Call at a test
 * file's top level: it registers the `afterEach`.
 */
export function closesAfterEach(): <B extends { close(): void }>(budget: B) => B {
  const open: { close(): void }[] = [];
  afterEach(() => {
    for (const b of open.splice(0).reverse()) b.close();
  });
  return (budget) => {
    open.push(budget);
    return budget;
  };
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
