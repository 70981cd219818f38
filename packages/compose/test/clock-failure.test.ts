// A clock given in options that throws is a failure like any other under an operation: a
// BACKEND BudgetError with the clock's error as cause, before anything changed. Found by a
// hostile review: the clock's own error reached the caller as it was.
import { AtomicBudget, BudgetError, type CancelTimer, type Clock } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { hierarchy, lazyRefill, waiting } from '../src/index.js';

class BrokenClock implements Clock {
  broken = false;
  readonly failure = new Error('clock unplugged');
  now(): number {
    if (this.broken) throw this.failure;
    return 0;
  }
  setTimer(): CancelTimer {
    if (this.broken) throw this.failure;
    return () => {};
  }
}

function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectClockFailure(error: unknown, clock: BrokenClock): void {
  expect(BudgetError.isInstance(error)).toBe(true);
  expect(error).toMatchObject({ code: 'BACKEND', cause: clock.failure });
  expect((error as Error).message).toContain('clock unplugged');
}

describe('a throwing clock surfaces as a BudgetError', () => {
  it('under a scheduled budget: the operation fails, the budget unchanged', () => {
    const clock = new BrokenClock();
    const budget = new AtomicBudget(10);
    const scheduled = lazyRefill(budget, { intervalMs: 1_000, clock });
    clock.broken = true;
    expectClockFailure(
      errorOf(() => scheduled.tryReserveSync(3)),
      clock,
    );
    expectClockFailure(
      errorOf(() => budget.tryReserveSync(3)),
      clock,
    );
    clock.broken = false;
    expect(budget.available()).toBe(10);
  });

  it('under a scheduled hierarchy: a tenant operation fails, the tree unchanged', () => {
    const clock = new BrokenClock();
    const root = hierarchy({ capacity: 10, children: { capacity: 5 } });
    lazyRefill(root, { intervalMs: 1_000, clock });
    clock.broken = true;
    expectClockFailure(
      errorOf(() => root.child('a').tryReserveSync(3)),
      clock,
    );
    clock.broken = false;
    expect([root.available(), root.held()]).toEqual([10, 0]);
  });

  it('at construction of a schedule: refused, nothing attached', () => {
    const clock = new BrokenClock();
    clock.broken = true;
    const budget = new AtomicBudget(10);
    expectClockFailure(
      errorOf(() => lazyRefill(budget, { intervalMs: 1_000, clock })),
      clock,
    );
    expect(() => lazyRefill(budget, { intervalMs: 1_000 })).not.toThrow();
  });

  it("in a waiting line's timeout: the waiter is rejected with it, out of line", async () => {
    const clock = new BrokenClock();
    const budget = new AtomicBudget(1);
    const line = waiting(budget, { clock });
    line.tryAcquireSync(1);
    clock.broken = true;
    const error = await line.acquire(1, { timeoutMs: 100 }).catch((e: unknown) => e);
    expectClockFailure(error, clock);
    expect((error as Error).message).toContain('the clock failed');
    expect(line.pending).toBe(0);
  });
});
