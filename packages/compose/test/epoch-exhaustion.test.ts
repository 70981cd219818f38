// A budget refilled on a schedule up to the last epoch 2^53 − 1 can count: a catch-up that
// would pass it is refused, so every operation that would begin an epoch fails, closed,
// rather than the epoch stopping and a reset no longer fencing what older epochs hold.
import { AtomicBudget, BudgetError, SharedBudget, type SyncBudgetGuard } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { intervalRefill } from '../src/refill/interval-refill.js';
import { lazyRefill } from '../src/refill/lazy-refill.js';
import { TestClock } from './helpers/test-clock.js';

const MAX = Number.MAX_SAFE_INTEGER;

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : String(error);
  }
  return undefined;
}

describe('a scheduled budget at the end of its epochs', () => {
  const cases: [
    string,
    (clock: TestClock) => { view: SyncBudgetGuard; budget: SyncBudgetGuard },
  ][] = [
    [
      'lazyRefill(AtomicBudget)',
      (clock) => {
        const budget = new AtomicBudget(4, { leakBackstop: false });
        budget.refill(MAX - 1);
        return { budget, view: lazyRefill(budget, { intervalMs: 1_000, clock }) };
      },
    ],
    [
      'intervalRefill(SharedBudget)',
      (clock) => {
        const budget = new SharedBudget(4, { leakBackstop: false, clock });
        budget.refill(MAX - 1);
        return { budget, view: intervalRefill(budget, { intervalMs: 1_000, clock }) };
      },
    ],
  ];
  for (const [name, make] of cases) {
    it(`${name}: refuses what would begin an epoch past 2^53 − 1, and never unfences`, () => {
      const clock = new TestClock(0);
      const { view } = make(clock);
      clock.set(1_000); // one boundary: the last epoch there is
      const held = view.tryAcquireSync(4);
      expect(held).not.toBeNull();
      clock.set(3_000); // two more boundaries: no room for them
      // Every operation would first begin the epochs due: each is refused, none admits more.
      expect(codeOf(() => view.tryAcquireSync(4))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => view.tryReserveSync(1))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => view.available())).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => held!.releaseSync())).toBe('INVALID_ARGUMENT');
      expect(held!.state).toBe('held');
    });
  }
});
