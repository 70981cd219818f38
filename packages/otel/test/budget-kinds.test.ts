// Watching every kind of budget: each exports what its events can tell, and a watch that
// cannot keep a promise (thresholds without reservation events) is refused up front, clearly.
import { allOf, anyOf, hierarchy, lazyRefill, waiting } from '@budgetry/compose';
import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  slidingWindow,
  tokenBucket,
} from '@budgetry/core';
import { FakeClock } from '@budgetry/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type ThresholdCrossing, watchThresholds } from '../src/index.js';
import { type Harness, harness } from './harness.js';

let h: Harness;
afterEach(async () => {
  await h.shutdown();
});

const errorOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('watching budgets that report no events', () => {
  it('exports a token bucket’s gauges, read at each collection', async () => {
    h = harness();
    const clock = new FakeClock();
    const rpm = tokenBucket({ burst: 10, rate: 1, per: 1_000, clock });
    h.telemetry.watch(rpm, { name: 'rpm' });
    rpm.tryReserveSync(6);
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'rpm' })).toBe(4);
    expect(await h.value('budgetry.utilization', { 'budgetry.budget': 'rpm' })).toBe(0.6);
    clock.advance(2_000); // two tokens accrue
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'rpm' })).toBe(6);
    expect(await h.value('budgetry.debt', { 'budgetry.budget': 'rpm' })).toBe(0);
  });

  it('exports the gauges of a sliding window, composites and a waiting line', async () => {
    h = harness();
    const clock = new FakeClock();
    const window = slidingWindow({ limit: 10, windowMs: 1_000, clock });
    const rows = new AtomicBudget(100);
    const both = allOf([rows, new AtomicBudget(20)]);
    const either = anyOf([new AtomicBudget(5), new AtomicBudget(8)]);
    const line = waiting(new AtomicBudget(4));
    h.telemetry.watch(window, { name: 'window' });
    h.telemetry.watch(line, { name: 'line' });
    h.telemetry.watch(both, { name: 'both' });
    h.telemetry.watch(either, { name: 'either' });
    window.tryReserveSync(3);
    both.tryReserveSync(15);
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'window' })).toBe(7);
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'both' })).toBe(5);
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'either' })).toBe(8);
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'line' })).toBe(4);
    expect(await h.points('budgetry.reservations')).toEqual([]); // no events to count
  });

  it.each([
    ['a token bucket', () => tokenBucket({ burst: 10, rate: 1 })],
    ['an allOf', () => allOf([new AtomicBudget(10)])],
    ['a hierarchy root', () => hierarchy({ capacity: 10, children: { capacity: 5 } })],
    ['a hierarchy child', () => hierarchy({ capacity: 10, children: { capacity: 5 } }).child('a')],
  ])(
    'refuses thresholds on %s, which could not report crossings, watching nothing',
    async (_, make) => {
      h = harness();
      const budget = make();
      const standalone = errorOf(() => watchThresholds(budget, { onCross: () => {} }));
      expect(BudgetError.isInstance(standalone) && standalone.code).toBe('INVALID_ARGUMENT');
      expect((standalone as Error).message).toMatch(/thresholds need a budget that reports/);
      const watched = errorOf(() => h.telemetry.watch(budget, { name: 'b', thresholds: [0.5] }));
      expect(BudgetError.isInstance(watched) && watched.code).toBe('INVALID_ARGUMENT');
      expect(await h.points('budgetry.available')).toEqual([]);
      h.telemetry.watch(budget, { name: 'b' }); // gauges alone are fine, under the same name
      expect(await h.points('budgetry.available')).toHaveLength(1);
    },
  );
});

describe('watching a refill scheduler’s view', () => {
  it('counts the events of the budget it drives, and crosses thresholds once per epoch', async () => {
    h = harness();
    const clock = new FakeClock();
    const tokens = lazyRefill(new AtomicTokenBudget(100), { intervalMs: 1_000, clock });
    const seen: ThresholdCrossing[] = [];
    h.telemetry.watch(tokens, { name: 'tpm', thresholds: [0.5] });
    watchThresholds(tokens, { levels: [0.5], onCross: (c) => seen.push(c) });
    tokens.tryReserveTokensSync(60);
    expect(tokens.tryReserveTokensSync(60)).toBeNull();
    expect(await h.value('budgetry.reservations', { 'budgetry.budget': 'tpm' })).toBe(1);
    expect(await h.value('budgetry.denials', { 'budgetry.budget': 'tpm' })).toBe(1);
    expect(seen.map((c) => c.level)).toEqual([0.5]);
    clock.advance(1_000);
    tokens.tryReserveTokensSync(70); // the due refill first, then 70 % of the new epoch
    expect(seen.map((c) => c.epoch)).toEqual([0, 1]);
    expect(await h.value('budgetry.threshold.crossings', { 'budgetry.budget': 'tpm' })).toBe(2);
  });

  it('reads its gauges through the view, so a due lazy refill shows at collection', async () => {
    h = harness();
    const clock = new FakeClock();
    const rows = lazyRefill(new AtomicBudget(10), { intervalMs: 1_000, clock });
    h.telemetry.watch(rows, { name: 'rows' });
    rows.tryReserveSync(8);
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'rows' })).toBe(2);
    clock.advance(1_000); // nobody calls the budget: the refill is applied when it is read
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'rows' })).toBe(10);
    expect(await h.value('budgetry.utilization', { 'budgetry.budget': 'rows' })).toBe(0);
  });

  it('leaves the driven budget with no observer once every watch on the view stops', () => {
    h = harness();
    const inner = new AtomicBudget(10);
    const rows = lazyRefill(inner, { intervalMs: 1_000, clock: new FakeClock() });
    const observer = () => (inner as unknown as { observer: unknown }).observer;
    const stops = [
      h.telemetry.watch(rows, { name: 'rows', thresholds: [0.5] }),
      watchThresholds(rows, { onCross: () => {} }),
    ];
    expect(observer()).toBeTypeOf('function');
    for (const stop of stops) stop();
    expect(observer()).toBeUndefined();
  });
});

describe('thresholds across watches', () => {
  it('reports a level again to a watch started after another stopped, in the same epoch', () => {
    const budget = new AtomicBudget(10);
    const seen: number[] = [];
    const stop = watchThresholds(budget, { levels: [0.5], onCross: (c) => seen.push(c.epoch) });
    budget.tryReserveSync(6);
    stop();
    budget.tryReserveSync(1); // not watched: nothing
    watchThresholds(budget, { levels: [0.5], onCross: (c) => seen.push(c.epoch) });
    expect(seen).toEqual([0]);
    budget.tryReserveSync(1); // the new watch's first event: 80 %, its first report
    expect(seen).toEqual([0, 0]);
  });
});
