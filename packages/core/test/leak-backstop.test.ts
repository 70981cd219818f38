// The FinalizationRegistry backstop: a handle garbage-collected while still armed is refunded
// exactly once and reported as a leak. Needs `--expose-gc` (set in the root vitest config).
import { describe, expect, it } from 'vitest';
import { AtomicBudget } from '../src/budgets/atomic-budget.js';
import { AtomicTokenBudget } from '../src/budgets/atomic-token-budget.js';
import type { BudgetEvent } from '../src/spec/events.js';

const gc = (globalThis as { gc?: () => void }).gc;

/** Collect garbage until `done()` holds; finalizers run on a later task, not synchronously. */
async function collectUntil(done: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 50 && !done(); attempt++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// Allocating in a separate function keeps no reference to the handle in this frame.
function leakReservation(budget: AtomicTokenBudget, estimate: number): void {
  budget.tryReserveTokensSync(estimate);
}
function leakPermit(budget: AtomicBudget, cost: number): void {
  budget.tryAcquireSync(cost);
}
function recordedThenDropped(budget: AtomicTokenBudget): void {
  budget.recordUsageSync(budget.tryReserveTokensSync(10)!, 4, 0);
}

describe.skipIf(gc === undefined)('leak backstop', () => {
  it('refunds and reports a token reservation collected while armed', async () => {
    const events: BudgetEvent[] = [];
    const tb = new AtomicTokenBudget(100, { observer: (e) => events.push(e) });
    leakReservation(tb, 40);
    expect(tb.available()).toBe(60);
    await collectUntil(() => tb.leaks() > 0);
    expect(tb.leaks()).toBe(1);
    expect(tb.available()).toBe(100);
    expect(events.filter((e) => e.type === 'leak')).toEqual([
      { type: 'leak', budget: undefined, amount: 40, refunded: 40 },
    ]);
  });

  it('reports what the refund returned, though a listener of the refund refilled in between', async () => {
    const events: BudgetEvent[] = [];
    const tb: AtomicTokenBudget = new AtomicTokenBudget(100, {
      observer: (e) => {
        events.push(e);
        // A listener that starts a new epoch when units come back: after it, the leaked
        // reservation's epoch is no longer live, though its estimate did go back.
        if (e.type === 'release') tb.refill();
      },
    });
    leakReservation(tb, 40);
    await collectUntil(() => tb.leaks() > 0);
    expect(events.filter((e) => e.type !== 'reserve')).toEqual([
      { type: 'release', budget: undefined, cost: 40, refunded: 40, available: 100 },
      { type: 'refill', budget: undefined, epoch: 1, policy: 'reset', available: 100 },
      { type: 'leak', budget: undefined, amount: 40, refunded: 40 },
    ]);
    expect(tb.available()).toBe(100);
  });

  it('refunds and reports a permit collected while held', async () => {
    const b = new AtomicBudget(10);
    leakPermit(b, 7);
    expect(b.available()).toBe(3);
    await collectUntil(() => b.leaks() > 0);
    expect(b.leaks()).toBe(1);
    expect(b.available()).toBe(10);
  });

  it('does nothing for a settled reservation that is collected', async () => {
    const tb = new AtomicTokenBudget(100);
    recordedThenDropped(tb);
    leakReservation(tb, 1); // a sentinel that does leak, so we know collection ran
    await collectUntil(() => tb.leaks() > 0);
    expect(tb.leaks()).toBe(1);
    expect(tb.available()).toBe(96);
  });

  it('a fenced reservation collected after a reset refill refunds nothing', async () => {
    const tb = new AtomicTokenBudget(100);
    leakReservation(tb, 30);
    tb.refill();
    await collectUntil(() => tb.leaks() > 0);
    expect(tb.leaks()).toBe(1);
    expect(tb.available()).toBe(100);
  });

  it('catches every leak from a long synchronous burst, across deferred registration batches', async () => {
    const b = new AtomicBudget(10_000);
    for (let i = 0; i < 3_000; i++) {
      if (i % 2 === 0) leakPermit(b, 1);
      else b.tryAcquireSync(1)!.commitSync(); // settled in the same turn: never registered
    }
    expect(b.available()).toBe(7_000);
    await collectUntil(() => b.leaks() === 1_500);
    expect(b.leaks()).toBe(1_500);
    expect(b.available()).toBe(8_500);
  });

  it('can be turned off', async () => {
    const tb = new AtomicTokenBudget(100, { leakBackstop: false });
    const sentinel = new AtomicTokenBudget(100);
    leakReservation(tb, 40);
    leakReservation(sentinel, 1);
    await collectUntil(() => sentinel.leaks() > 0);
    expect(sentinel.leaks()).toBe(1);
    expect(tb.leaks()).toBe(0);
    expect(tb.available()).toBe(60);
  });
});

it('runs with --expose-gc so the leak tests above are not skipped', () => {
  expect(typeof gc).toBe('function');
});
