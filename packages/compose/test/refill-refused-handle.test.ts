// A refill that is due is applied by the next call a budget accepts, never by one the budget
// refuses: here the schedule is compose's, which a shared budget also reads from shared memory, so
// the budget's own method catches up, not only the scheduler's wrapper (its view, tested too).
import {
  AtomicTokenBudget,
  BudgetError,
  type BudgetEvent,
  SharedTokenBudget,
  type SyncTokenBudget,
} from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { lazyRefill } from '../src/index.js';
import { TestClock } from './helpers/test-clock.js';

const kinds = [
  [
    'AtomicTokenBudget',
    (observer: (e: BudgetEvent) => void, _clock: TestClock) =>
      new AtomicTokenBudget(10, { leakBackstop: false, observer }),
  ],
  [
    'SharedTokenBudget',
    (observer: (e: BudgetEvent) => void, clock: TestClock) =>
      new SharedTokenBudget(10, { clock, leaseMs: 60_000, leakBackstop: false, observer }),
  ],
] as const;

describe.each(kinds)('%s under lazyRefill', (_, make) => {
  // Through the budget itself (its method is the schedule's) and through the view lazyRefill
  // returns: either way the refused call changes nothing, and the next accepted one catches up.
  it.each([
    ['the budget', (budget: SyncTokenBudget, _view: SyncTokenBudget) => budget],
    ['the scheduler view', (_budget: SyncTokenBudget, view: SyncTokenBudget) => view],
  ] as const)('applies no due refill on a recordUsageSync refused through %s', (_w, via) => {
    const clock = new TestClock(0);
    const events: string[] = [];
    const budget = make((e) => events.push(e.type), clock);
    const other = make(() => {}, clock);
    const tpm = lazyRefill(budget, { intervalMs: 1_000, clock });
    const target = via(budget, tpm);
    const settled = target.tryReserveTokensSync(1)!;
    target.recordUsageSync(settled, 1, 0);
    const foreign = other.tryReserveTokensSync(2)!;
    const held = target.tryReserveTokensSync(3)!;
    events.length = 0;
    clock.advance(1_000); // a refill is due
    const refused = (code: string) => expect.objectContaining({ name: 'BudgetError', code });
    expect(() => target.recordUsageSync(settled, 1, 0)).toThrow(refused('ALREADY_SETTLED'));
    expect(() => target.recordUsageSync(foreign, 1, 0)).toThrow(refused('FOREIGN_HANDLE'));
    expect(() => target.recordUsageSync({} as never, 1, 0)).toThrow(BudgetError);
    expect(events).toEqual([]);
    // The next call the budget accepts applies it, before recording.
    target.recordUsageSync(held, 2, 0);
    expect(events).toEqual(['refill', 'record']);
    tpm.close();
    for (const b of [budget, other]) if (b instanceof SharedTokenBudget) b.close();
  });
});
