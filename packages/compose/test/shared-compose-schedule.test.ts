// A refill schedule attached to a shared budget in one thread governs every handle, in every
// thread. The schedule publishes its next boundary in the shared memory; a handle that finds
// the clock past it applies that refill itself before reserving, so nobody reserves in an
// epoch the schedule has ended, and the scheduling thread then applies only the boundaries
// nobody applied. Before this, another handle kept reserving in the old epoch after the
// boundary and the scheduler's late `reset` wiped those reservations: a "10 per period"
// budget admitted 15 in one period.
import { AtomicBudget, SharedBudget, SharedHierarchy, SharedTokenBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { lazyRefill } from '../src/index.js';
import { closesAfterEach } from './helpers/closing.js';
import { TestClock } from './helpers/test-clock.js';
import { exited, firstMessage, startWorker } from './shared-compose/spawn.js';

const track = closesAfterEach();

/** Units admitted in period 1 (after the first boundary) by `other` then `scheduled`. */
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
  it('twin: lazyRefill(AtomicBudget) admits exactly the capacity in a period', () => {
    const clock = new TestClock(0);
    const budget = new AtomicBudget(10);
    const scheduled = lazyRefill(budget, { intervalMs: 1_000, clock });
    expect(admittedInPeriodOne(scheduled, budget, clock)).toBe(10);
  });

  it('lazyRefill(SharedBudget): another handle reserves in the new epoch', () => {
    const clock = new TestClock(0);
    const budget = track(new SharedBudget(10, { clock, leaseMs: 60_000 }));
    const other = track(SharedBudget.open(budget.share(), { clock }));
    const scheduled = lazyRefill(budget, { intervalMs: 1_000, clock });
    expect(admittedInPeriodOne(scheduled, other, clock)).toBe(10);
    // One boundary, applied once: by the other handle, not again by the scheduler.
    expect(budget.epoch).toBe(1);
    expect(scheduled.epoch).toBe(1);
  });

  it('lazyRefill(SharedTokenBudget): the same', () => {
    const clock = new TestClock(0);
    const tokens = track(new SharedTokenBudget(10, { clock, leaseMs: 60_000 }));
    const other = track(SharedTokenBudget.open(tokens.share(), { clock }));
    const scheduled = lazyRefill(tokens, { intervalMs: 1_000, clock });
    expect(admittedInPeriodOne(scheduled, other, clock)).toBe(10);
    expect(tokens.epoch).toBe(1);
  });

  it('lazyRefill(SharedHierarchy): a node reserved through another handle', () => {
    const clock = new TestClock(0);
    const tree = track(
      new SharedHierarchy({ capacity: 10, children: { capacity: 10 } }, { clock, leaseMs: 60_000 }),
    );
    const other = track(SharedHierarchy.open(tree.share(), { clock }));
    const scheduled = lazyRefill(tree, { intervalMs: 1_000, clock });
    expect(admittedInPeriodOne(scheduled, other.child('acme'), clock)).toBe(10);
    expect(tree.epoch).toBe(1);
  });

  it('the scheduler applies the boundaries nobody applied, each once', () => {
    const clock = new TestClock(0);
    const budget = track(new SharedBudget(10, { clock, leaseMs: 60_000 }));
    const other = track(SharedBudget.open(budget.share(), { clock }));
    const scheduled = lazyRefill(budget, { intervalMs: 1_000, clock });
    clock.advance(1_000);
    expect(other.available()).toBe(10); // applies the boundary at 1 000
    expect(other.epoch).toBe(1);
    // Equal periods are published with the boundary: the others go on without the scheduler.
    clock.advance(2_500); // boundaries at 2 000 and 3 000 pass
    expect(other.tryReserveSync(10)).toBe(true);
    expect(other.epoch).toBe(3); // (reading the scheduled handle itself would catch up)
    expect(scheduled.available()).toBe(0); // the scheduler: nothing left to refill
    expect(other.epoch).toBe(3);
    expect(scheduled.epoch).toBe(3);
    clock.advance(500); // 4 000, published by the scheduler's catch-up
    expect(other.tryReserveSync(4)).toBe(true);
    expect(other.epoch).toBe(4);
  });

  it("after the scheduler's close() (no timer) boundaries still reach every handle", () => {
    const clock = new TestClock(0);
    const budget = track(new SharedBudget(10, { clock, leaseMs: 60_000 }));
    const other = track(SharedBudget.open(budget.share(), { clock }));
    const scheduled = lazyRefill(budget, { intervalMs: 1_000, clock });
    expect(other.tryReserveSync(10)).toBe(true);
    scheduled.close(); // stops a timer; access-driven refills continue, as in-process
    clock.advance(1_000);
    expect(other.tryReserveSync(10)).toBe(true);
    expect(other.epoch).toBe(1);
  });

  it('refuses a schedule whose clock disagrees with the budget’s, leaving nothing attached', () => {
    const budget = track(new SharedBudget(10)); // the system clock
    const clock = new TestClock(0);
    expect(() => lazyRefill(budget, { intervalMs: 1_000, clock })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => lazyRefill(budget, { intervalMs: 1_000, clock })).toThrow(/clock reads 0/);
    // Nothing attached: a schedule on the system clock is accepted.
    const fine = lazyRefill(budget, { intervalMs: 60_000 });
    expect(fine.tryReserveSync(3)).toBe(true);
    fine.close();
  });

  it('a worker thread reserves in the epoch the schedule says, and never twice a period', async () => {
    const intervalMs = 600;
    const budget = track(new SharedBudget(10, { leaseMs: 60_000 }));
    const scheduled = lazyRefill(budget, { intervalMs });
    const worker = startWorker('./schedule-worker.ts', { rows: budget.share(), cost: 10 });
    budget.releaseOnExit(worker);
    expect(await firstMessage(worker)).toEqual({ ready: true });
    // Period 0 filled here, in the scheduling thread.
    expect(scheduled.tryReserveSync(10)).toBe(true);
    const epochAtStart = budget.epoch;
    await new Promise((r) => setTimeout(r, (scheduled.retryAfterMs(1) ?? 0) + 20));
    const reply = firstMessage<{ reserved: boolean; epoch: number }>(worker);
    worker.postMessage('try');
    const { reserved, epoch } = await reply;
    // The worker applied the boundary itself: the new period is its to fill.
    expect(reserved).toBe(true);
    expect(epoch).toBeGreaterThan(epochAtStart);
    // Back here, the scheduler finds that boundary applied and does not refill again: the
    // period the worker filled stays full (unless yet another boundary passed meanwhile).
    const again = scheduled.tryReserveSync(1);
    if (again) expect(budget.epoch).toBeGreaterThan(epoch);
    else expect(budget.epoch).toBe(epoch);
    worker.postMessage('stop');
    await exited(worker);
    scheduled.close();
  }, 10_000);
});
