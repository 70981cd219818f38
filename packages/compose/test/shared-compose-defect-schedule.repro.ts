// DEFECT: a refill schedule (lazyRefill / calendarRefill / intervalRefill between ticks)
// attached to a SharedBudget in one thread does not bring other handles into the epoch the
// clock is in. A handle in another thread (here a second handle in this thread, and a real
// worker) keeps reserving in the old epoch after the boundary; the scheduling thread then
// catches up with a `reset` refill that wipes those reservations, and the new period admits
// its full capacity again. A "10 per period" budget admits 15 in one period.
//
// The in-process twin cannot do this: the schedule is attached to the budget (followSchedule)
// and every operation on it catches up first (compose README: "a permit or reservation settled
// directly on the budget lands in the epoch the clock is in, even when nothing touched the
// budget since the boundary"). SharedBudget.followSchedule's TSDoc says only "attach the
// schedule in one thread only".
import { AtomicBudget, SharedBudget, SharedTokenBudget } from '@budgetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { lazyRefill } from '../src/index.js';
import { TestClock } from './helpers/test-clock.js';

const open: { close(): void }[] = [];
afterEach(() => {
  for (const b of open.splice(0)) b.close();
});

/** Units admitted in period 1 (after the first boundary) by `main` then `other`. */
function admittedInPeriodOne(
  scheduled: { tryReserveSync(c: number): boolean },
  other: { tryReserveSync(c: number): boolean },
  clock: TestClock,
): number {
  let admitted = 0;
  expect(scheduled.tryReserveSync(5)).toBe(true); // period 0: 5 of 10
  clock.advance(1_000); // period 1 begins
  if (other.tryReserveSync(5)) admitted += 5; // another user, directly on the budget
  for (let i = 0; i < 10; i++) if (scheduled.tryReserveSync(1)) admitted += 1;
  return admitted;
}

describe('a refill schedule over a shared budget and the other handles', () => {
  it('twin: lazyRefill(AtomicBudget) admits at most the capacity in a period', () => {
    const clock = new TestClock(0);
    const budget = new AtomicBudget(10);
    const scheduled = lazyRefill(budget, { intervalMs: 1_000, clock });
    expect(admittedInPeriodOne(scheduled, budget, clock)).toBe(10);
  });

  it('lazyRefill(SharedBudget) admits at most the capacity in a period across handles', () => {
    const clock = new TestClock(0);
    const budget = new SharedBudget(10, { clock, leaseMs: 60_000 });
    open.push(budget);
    const other = SharedBudget.open(budget.share(), { clock });
    open.push(other);
    const scheduled = lazyRefill(budget, { intervalMs: 1_000, clock });
    // Observed: 15 (the other handle took 5 in epoch 0 after the boundary; the catch-up then
    // reset the budget to a full 10).
    expect(admittedInPeriodOne(scheduled, other, clock)).toBe(10);
  });

  it('lazyRefill(SharedTokenBudget): the same across handles', () => {
    const clock = new TestClock(0);
    const tokens = new SharedTokenBudget(10, { clock, leaseMs: 60_000 });
    open.push(tokens);
    const other = SharedTokenBudget.open(tokens.share(), { clock });
    open.push(other);
    const scheduled = lazyRefill(tokens, { intervalMs: 1_000, clock });
    expect(admittedInPeriodOne(scheduled, other, clock)).toBe(10);
  });
});
