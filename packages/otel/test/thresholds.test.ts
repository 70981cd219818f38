import { AtomicBudget, AtomicTokenBudget, BudgetError, type BudgetObserver } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { type ThresholdCrossing, watchThresholds } from '../src/index.js';

function recorder() {
  const seen: ThresholdCrossing[] = [];
  return { seen, onCross: (c: ThresholdCrossing) => seen.push(c) };
}

describe('watchThresholds', () => {
  it('reports 50, 80 and 100 % by default, each once, in order', () => {
    const budget = new AtomicBudget(100, { name: 'usd' });
    const { seen, onCross } = recorder();
    watchThresholds(budget, { onCross });
    budget.tryReserveSync(40);
    expect(seen).toEqual([]);
    budget.tryReserveSync(45); // 85 %: crosses 50 and 80 in one step
    expect(seen.map((c) => c.level)).toEqual([0.5, 0.8]);
    expect(seen[0]).toMatchObject({ budget: 'usd', utilization: 0.85, epoch: 0 });
    budget.releaseSync(40); // back to 45 %
    budget.tryReserveSync(40); // 85 % again, same epoch: nothing new
    expect(seen).toHaveLength(2);
    budget.tryReserveSync(15);
    expect(seen.map((c) => c.level)).toEqual([0.5, 0.8, 1]);
  });

  it('fires each level again after a refill starts a new epoch', () => {
    const budget = new AtomicBudget(10);
    const { seen, onCross } = recorder();
    watchThresholds(budget, { levels: [0.5], onCross });
    budget.tryReserveSync(6);
    budget.tryReserveSync(1);
    budget.refill();
    expect(seen.map((c) => c.epoch)).toEqual([0]);
    budget.tryReserveSync(5);
    expect(seen.map((c) => c.epoch)).toEqual([0, 1]);
  });

  it('fires in the new epoch at the refill itself when carried reservations keep it above a level', () => {
    const budget = new AtomicBudget(10, { refillPolicy: 'carry' });
    const { seen, onCross } = recorder();
    watchThresholds(budget, { levels: [0.5], onCross });
    budget.tryAcquireSync(8);
    budget.refill();
    expect(seen.map((c) => [c.epoch, c.event.type])).toEqual([
      [0, 'reserve'],
      [1, 'refill'],
    ]);
  });

  it('counts debt: a token budget over its capacity crosses levels above 1', () => {
    const tokens = new AtomicTokenBudget(1_000);
    const { seen, onCross } = recorder();
    watchThresholds(tokens, { levels: [1, 1.2], onCross });
    const r = tokens.tryReserveTokensSync(900)!;
    tokens.recordUsageSync(r, 1_000, 250); // 1 250 used: 250 of debt
    expect(seen.map((c) => c.level)).toEqual([1, 1.2]);
    expect(seen[1]!.utilization).toBe(1.25);
  });

  it('re-arms a level of a budget without epochs once it falls back below', () => {
    // A continuous budget of the caller's own: no capabilities, so no refill policy.
    let used = 0;
    const listeners: BudgetObserver[] = [];
    const leaky = {
      capacity: 10,
      available: () => 10 - used,
      subscribe(listener: BudgetObserver) {
        listeners.push(listener);
        return () => {};
      },
      take(n: number) {
        used += n;
        for (const l of listeners)
          l({ type: 'reserve', budget: 'rpm', cost: n, available: 10 - used });
      },
    };
    const { seen, onCross } = recorder();
    watchThresholds(leaky, { levels: [0.8], onCross });
    leaky.take(9);
    leaky.take(0); // still above: no second report
    expect(seen).toHaveLength(1);
    leaky.take(-5); // drained continuously to 40 %: below, re-armed
    leaky.take(5); // 90 %
    expect(seen).toHaveLength(2);
  });

  it('keeps a level fired until the next epoch on a budget with epochs, however far it falls', () => {
    const budget = new AtomicBudget(10);
    const { seen, onCross } = recorder();
    watchThresholds(budget, { levels: [0.8], onCross });
    budget.tryReserveSync(9);
    budget.releaseSync(9);
    budget.tryReserveSync(9);
    expect(seen).toHaveLength(1);
  });

  it('stops reporting once stopped, and a second stop does nothing', () => {
    const budget = new AtomicBudget(10);
    const { seen, onCross } = recorder();
    const stop = watchThresholds(budget, { levels: [0.1], onCross });
    stop();
    stop();
    budget.tryReserveSync(10);
    expect(seen).toEqual([]);
  });

  it('keeps the budget operation whole when the listener throws', () => {
    const budget = new AtomicBudget(10);
    watchThresholds(budget, {
      levels: [0.5],
      onCross: () => {
        throw new Error('pager down');
      },
    });
    expect(budget.tryReserveSync(6)).toBe(true);
    expect(budget.available()).toBe(4);
  });

  it.each([
    ['an empty list', { levels: [] }],
    ['null levels', { levels: null }],
    ['a zero level', { levels: [0] }],
    ['a negative level', { levels: [-0.5] }],
    ['NaN', { levels: [Number.NaN] }],
    ['Infinity', { levels: [Number.POSITIVE_INFINITY] }],
    ['a string', { levels: ['0.5'] }],
    ['a level given twice', { levels: [0.5, 0.8, 0.5] }],
    ['no onCross', { onCross: undefined }],
    ['an onCross that is not a function', { onCross: 'alert' }],
  ])('rejects %s with INVALID_ARGUMENT and subscribes nothing', (_, bad) => {
    const budget = new AtomicBudget(10);
    let subscribed = 0;
    const subscribe = budget.subscribe.bind(budget);
    budget.subscribe = (l) => {
      subscribed++;
      return subscribe(l);
    };
    const options = { onCross: () => {}, ...bad } as never;
    let error: unknown;
    try {
      watchThresholds(budget, options);
    } catch (e) {
      error = e;
    }
    expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
    expect(subscribed).toBe(0);
  });

  it('rejects something that is not a watchable budget', () => {
    for (const bad of [null, 42, {}, { subscribe: () => () => {} }]) {
      expect(() => watchThresholds(bad as never, { onCross: () => {} })).toThrow(BudgetError);
    }
  });
});
