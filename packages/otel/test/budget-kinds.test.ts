// Watching every kind of budget: each exports what its events can tell, and a watch that
// cannot keep a promise (thresholds without events) is refused up front, clearly.
import { allOf, anyOf, hierarchy, lazyRefill, waiting } from '@budgetry/compose';
import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  SharedHierarchy,
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

describe('watching rate limiters', () => {
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

  it.each([
    ['a token bucket', (clock: FakeClock) => tokenBucket({ burst: 10, rate: 1, clock })],
    [
      'a sliding window',
      (clock: FakeClock) => slidingWindow({ limit: 10, windowMs: 1_000, clock }),
    ],
  ])('counts reservations, denials and over-releases of %s, per tenant', async (_, make) => {
    h = harness();
    const limiter = make(new FakeClock());
    h.telemetry.watch(limiter, { name: 'rpm', tenant: 'acme' });
    const labels = { 'budgetry.budget': 'rpm', 'budgetry.tenant': 'acme' };
    limiter.tryReserveSync(4);
    limiter.tryAcquireSync(5)?.commitSync();
    limiter.tryReserveSync(2); // 1 left: denied
    limiter.releaseSync(6); // 4 held through the count API: 2 ignored
    expect(await h.value('budgetry.reservations', labels)).toBe(2);
    expect(await h.value('budgetry.denials', labels)).toBe(1);
    expect(await h.value('budgetry.over_released', labels)).toBe(2);
  });

  it('reports a token bucket’s threshold again once it refilled below it, unseen', () => {
    const clock = new FakeClock();
    const bucket = tokenBucket({ burst: 10, rate: 1, per: 1_000, clock });
    const seen: number[] = [];
    watchThresholds(bucket, { levels: [0.5, 1], onCross: (c) => seen.push(c.level) });
    bucket.tryReserveSync(10);
    expect(seen).toEqual([0.5, 1]);
    bucket.tryReserveSync(1); // denied, still empty: nothing new
    expect(seen).toEqual([0.5, 1]);
    clock.advance(10_000); // full again, no event on the way
    bucket.tryReserveSync(10); // drained at once: both levels again
    expect(seen).toEqual([0.5, 1, 0.5, 1]);
    clock.advance(2_000);
    bucket.tryReserveSync(2); // from 80 % back to 100 %: only the full level
    expect(seen).toEqual([0.5, 1, 0.5, 1, 1]);
  });

  it('counts a sliding window’s threshold crossings, once while it stays above', async () => {
    h = harness();
    const clock = new FakeClock();
    const window = slidingWindow({ limit: 10, windowMs: 1_000, clock });
    h.telemetry.watch(window, { name: 'window', thresholds: [0.8] });
    window.tryReserveSync(8);
    window.tryReserveSync(1);
    clock.advance(1_000); // everything slid out
    window.tryReserveSync(9);
    expect(await h.value('budgetry.threshold.crossings', { 'budgetry.budget': 'window' })).toBe(2);
  });
});

describe('watching hierarchy nodes', () => {
  const tree = () =>
    hierarchy({ capacity: 20, children: { capacity: 10, children: { capacity: 4 } } });

  it('counts at each node what was made through it or below it', async () => {
    h = harness();
    const root = tree();
    h.telemetry.watch(root, { name: 'global' });
    h.telemetry.watch(root.child('acme'), { name: 'tenant', tenant: 'acme' });
    h.telemetry.watch(root.child('bigco'), { name: 'tenant', tenant: 'bigco' });
    root.at('acme', 'alice').tryReserveSync(3);
    root.child('acme').tryReserveSync(11); // denied by acme
    root.child('bigco').tryReserveSync(2);
    root.child('bigco').releaseSync(5); // 3 ignored
    const at = (tenant?: string) =>
      tenant === undefined
        ? { 'budgetry.budget': 'global' }
        : { 'budgetry.budget': 'tenant', 'budgetry.tenant': tenant };
    expect(await h.value('budgetry.reservations', at())).toBe(2);
    expect(await h.value('budgetry.reservations', at('acme'))).toBe(1);
    expect(await h.value('budgetry.denials', at('acme'))).toBe(1);
    expect(await h.value('budgetry.denials', at('bigco'))).toBeUndefined();
    expect(await h.value('budgetry.over_released', at())).toBe(3);
    expect(await h.value('budgetry.over_released', at('bigco'))).toBe(3);
    expect(await h.value('budgetry.over_released', at('acme'))).toBeUndefined();
  });

  it('scopes a shared-memory hierarchy node’s counters to its subtree, as compose’s', async () => {
    h = harness();
    const root = new SharedHierarchy(
      { capacity: 20, children: { capacity: 10, children: { capacity: 4 } } },
      { leakBackstop: false },
    );
    try {
      h.telemetry.watch(root, { name: 'global' });
      h.telemetry.watch(root.child('acme'), { name: 'tenant', tenant: 'acme' });
      h.telemetry.watch(root.child('bigco'), { name: 'tenant', tenant: 'bigco' });
      root.child('acme').child('alice').tryReserveSync(3);
      root.child('acme').tryReserveSync(11); // denied by acme
      root.child('bigco').tryReserveSync(2);
      root.child('bigco').releaseSync(5); // 3 ignored, told to every listener of the handle
      const at = (tenant?: string) =>
        tenant === undefined
          ? { 'budgetry.budget': 'global' }
          : { 'budgetry.budget': 'tenant', 'budgetry.tenant': tenant };
      expect(await h.value('budgetry.reservations', at())).toBe(2);
      expect(await h.value('budgetry.reservations', at('acme'))).toBe(1);
      expect(await h.value('budgetry.denials', at('acme'))).toBe(1);
      expect(await h.value('budgetry.over_released', at('bigco'))).toBe(3);
      expect(await h.value('budgetry.over_released', at('acme'))).toBeUndefined();
      expect(await h.value('budgetry.utilization', at('acme'))).toBe(0.3); // 3 of 10, subtree
    } finally {
      root.close();
    }
  });

  it('crosses a tenant’s thresholds on its own use, once per epoch of the root', async () => {
    h = harness();
    const root = tree();
    const acme = root.child('acme');
    const seen: [number, number][] = [];
    h.telemetry.watch(acme, { name: 'acme', thresholds: [0.5, 1] });
    watchThresholds(acme, { levels: [0.5, 1], onCross: (c) => seen.push([c.level, c.epoch]) });
    root.child('bigco').tryReserveSync(10);
    root.child('other').tryReserveSync(8); // the root is nearly full: acme's own use is 0
    expect(seen).toEqual([]);
    expect(await h.value('budgetry.utilization', { 'budgetry.budget': 'acme' })).toBe(0);
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'acme' })).toBe(2);
    root.at('acme', 'alice').tryReserveSync(2); // through a sub-tenant: 20 % of acme
    acme.tryReserveSync(0);
    root.refill();
    acme.tryReserveSync(6); // 60 % in epoch 1
    acme.tryReserveSync(4); // 100 %
    expect(seen).toEqual([
      [0.5, 1],
      [1, 1],
    ]);
    root.refill();
    root.at('acme', 'bob').tryReserveSync(4); // 40 %: nothing
    root.at('acme', 'carol').tryReserveSync(1); // 50 % in epoch 2
    expect(seen.at(-1)).toEqual([0.5, 2]);
    const crossings = (level: number) =>
      h.value('budgetry.threshold.crossings', {
        'budgetry.budget': 'acme',
        'budgetry.threshold': level,
      });
    expect([await crossings(0.5), await crossings(1)]).toEqual([2, 1]);
  });
});

describe('watching budgets that report no events', () => {
  it('exports the gauges of composites and a waiting line', async () => {
    h = harness();
    const rows = new AtomicBudget(100);
    const both = allOf([rows, new AtomicBudget(20)]);
    const either = anyOf([new AtomicBudget(5), new AtomicBudget(8)]);
    const line = waiting(new AtomicBudget(4));
    h.telemetry.watch(line, { name: 'line' });
    h.telemetry.watch(both, { name: 'both' });
    h.telemetry.watch(either, { name: 'either' });
    both.tryReserveSync(15);
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'both' })).toBe(5);
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'either' })).toBe(8);
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'line' })).toBe(4);
    expect(await h.points('budgetry.reservations')).toEqual([]); // no events to count
  });

  it('reads an anyOf’s utilization as its members’ together: what they owe over their capacities', async () => {
    h = harness();
    const small = new AtomicBudget(5);
    const large = new AtomicTokenBudget(8);
    const either = anyOf([small, large]);
    h.telemetry.watch(either, { name: 'either' });
    const at = { 'budgetry.budget': 'either' };
    either.tryReserveSync(5); // the first member, full; the second could still take 8
    expect(await h.value('budgetry.available', at)).toBe(8);
    expect(await h.value('budgetry.utilization', at)).toBe(5 / 13);
    const permit = either.tryAcquireSync(2)!; // a permit, which held() does not count
    expect(await h.value('budgetry.utilization', at)).toBe(7 / 13);
    permit.releaseSync();
    const r = large.tryReserveTokensSync(6)!;
    large.recordUsageSync(r, 9, 1); // 10 spent of 8: 2 owed
    expect(await h.value('budgetry.utilization', at)).toBe(15 / 13);
  });

  it('reads a waiting line’s utilization through the budget it waits on', async () => {
    h = harness();
    const root = hierarchy({ capacity: 10, children: { capacity: 10 } });
    const line = waiting(root.child('acme'));
    h.telemetry.watch(line, { name: 'line' });
    root.child('bigco').tryReserveSync(6); // a sibling: acme's available falls, not its use
    line.tryReserveSync(1);
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'line' })).toBe(3);
    expect(await h.value('budgetry.utilization', { 'budgetry.budget': 'line' })).toBe(0.1);
  });

  it.each([
    ['an allOf', () => allOf([new AtomicBudget(10)])],
    ['an anyOf', () => anyOf([new AtomicBudget(10)])],
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
    const first = tokens.tryReserveTokensSync(60)!; // referenced to the end: no leak refund
    expect(tokens.tryReserveTokensSync(60)).toBeNull();
    expect(await h.value('budgetry.reservations', { 'budgetry.budget': 'tpm' })).toBe(1);
    expect(await h.value('budgetry.denials', { 'budgetry.budget': 'tpm' })).toBe(1);
    expect(seen.map((c) => c.level)).toEqual([0.5]);
    clock.advance(1_000);
    tokens.tryReserveTokensSync(70); // the due refill first, then 70 % of the new epoch
    expect(seen.map((c) => c.epoch)).toEqual([0, 1]);
    expect(await h.value('budgetry.threshold.crossings', { 'budgetry.budget': 'tpm' })).toBe(2);
    first[Symbol.dispose]();
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
