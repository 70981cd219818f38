import { hierarchy } from '@budgetry/compose';
import { AtomicBudget, AtomicTokenBudget, BudgetError } from '@budgetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { budgetTelemetry, shadow } from '../src/index.js';
import { type Harness, harness } from './harness.js';

let h: Harness;
afterEach(async () => {
  await h.shutdown();
});

describe('BudgetTelemetry.watch', () => {
  it('exports utilization, available and debt as gauges read at collection', async () => {
    h = harness();
    const tokens = new AtomicTokenBudget(1_000);
    h.telemetry.watch(tokens, { name: 'tokens' });
    const r = tokens.tryReserveTokensSync(400)!;
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'tokens' })).toBe(600);
    expect(await h.value('budgetry.utilization')).toBe(0.4);
    expect(await h.value('budgetry.debt')).toBe(0);
    tokens.recordUsageSync(r, 1_000, 200); // 1 200 of 1 000: 200 owed
    expect(await h.value('budgetry.available')).toBe(0);
    expect(await h.value('budgetry.debt')).toBe(200);
    expect(await h.value('budgetry.utilization')).toBe(1.2);
  });

  it('counts reservations and denials per budget, labelled with its name and mode', async () => {
    h = harness();
    const rows = new AtomicBudget(10);
    const slots = new AtomicBudget(1);
    h.telemetry.watch(rows, { name: 'rows' });
    h.telemetry.watch(slots, { name: 'slots' });
    rows.tryReserveSync(4);
    rows.tryAcquireSync(4);
    rows.tryReserveSync(4); // denied
    slots.tryReserveSync(2); // denied
    slots.tryReserveSync(2); // denied
    expect(await h.points('budgetry.reservations')).toEqual([
      { attributes: { 'budgetry.budget': 'rows', 'budgetry.mode': 'enforce' }, value: 2 },
    ]);
    expect(await h.value('budgetry.denials', { 'budgetry.budget': 'rows' })).toBe(1);
    expect(await h.value('budgetry.denials', { 'budgetry.budget': 'slots' })).toBe(2);
  });

  it('labels the tenant only when asked', async () => {
    h = harness();
    const tree = hierarchy({ capacity: 100, children: { capacity: 10 } });
    h.telemetry.watch(tree.child('acme'), { name: 'tenant', tenant: 'acme' });
    h.telemetry.watch(tree, { name: 'global' });
    tree.child('acme').tryReserveSync(3);
    const points = await h.points('budgetry.available');
    expect(points).toContainEqual({
      attributes: {
        'budgetry.budget': 'tenant',
        'budgetry.mode': 'enforce',
        'budgetry.tenant': 'acme',
      },
      value: 7,
    });
    expect(points).toContainEqual({
      attributes: { 'budgetry.budget': 'global', 'budgetry.mode': 'enforce' },
      value: 97,
    });
  });

  it('counts over-released units and leaked units', async () => {
    h = harness();
    const rows = new AtomicBudget(10);
    h.telemetry.watch(rows, { name: 'rows' });
    rows.tryReserveSync(3);
    rows.releaseSync(3);
    rows.releaseSync(3); // a double release: 3 ignored
    expect(await h.value('budgetry.over_released')).toBe(3);
    (() => {
      rows.tryAcquireSync(4); // dropped while held
    })();
    for (let i = 0; i < 20 && (await h.value('budgetry.leaked')) === undefined; i++) {
      globalThis.gc?.();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await h.value('budgetry.leaked')).toBe(4);
  });

  it('counts each threshold crossing once per epoch', async () => {
    h = harness();
    const usd = new AtomicBudget(100);
    h.telemetry.watch(usd, { name: 'usd', thresholds: [0.5, 0.9] });
    usd.tryReserveSync(60);
    usd.tryReserveSync(1);
    usd.refill();
    usd.tryReserveSync(95);
    expect(await h.value('budgetry.threshold.crossings', { 'budgetry.threshold': 0.5 })).toBe(2);
    expect(await h.value('budgetry.threshold.crossings', { 'budgetry.threshold': 0.9 })).toBe(1);
  });

  it('labels a shadow budget as such and counts what it lets through', async () => {
    h = harness();
    const policy = new AtomicTokenBudget(100);
    const tokens = shadow(policy, { name: 'cap' });
    h.telemetry.watch(tokens, { name: 'cap' });
    const granted = tokens.tryReserveTokensSync(80)!;
    const passed = tokens.tryReserveTokensSync(50)!; // the policy denies: let through
    tokens.recordUsageSync(passed, 30, 40);
    tokens.recordUsageSync(granted, 50, 10);
    const shadowLabels = { 'budgetry.budget': 'cap', 'budgetry.mode': 'shadow' };
    expect(await h.value('budgetry.denials', shadowLabels)).toBe(1);
    expect(await h.value('budgetry.shadow.passes', { 'budgetry.shadow.reason': 'denied' })).toBe(1);
    expect(await h.value('budgetry.shadow.passed', shadowLabels)).toBe(50);
    expect(await h.value('budgetry.shadow.used', shadowLabels)).toBe(70);
    // The policy was charged only what it admitted: 60 of the 80 it granted.
    expect(await h.value('budgetry.available', shadowLabels)).toBe(40);
  });

  it('stops exporting a budget once unwatched, and after close', async () => {
    h = harness();
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(10);
    const stop = h.telemetry.watch(rows, { name: 'rows' });
    h.telemetry.watch(tokens, { name: 'tokens' });
    rows.tryReserveSync(1);
    stop();
    stop();
    rows.tryReserveSync(1);
    expect(await h.value('budgetry.reservations', { 'budgetry.budget': 'rows' })).toBe(1);
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'rows' })).toBeUndefined();
    h.telemetry.close();
    tokens.tryReserveTokensSync(1);
    // The SDK may repeat a gauge's last cumulative value; it is never read again (9 now).
    expect(await h.value('budgetry.available', { 'budgetry.budget': 'tokens' })).not.toBe(9);
    expect(await h.value('budgetry.reservations', { 'budgetry.budget': 'tokens' })).toBeUndefined();
  });

  it('leaves a budget that is not watched untouched: no observer is installed', () => {
    h = harness();
    const rows = new AtomicBudget(10);
    const before = (rows as unknown as { observer: unknown }).observer;
    const stop = h.telemetry.watch(rows, { name: 'rows' });
    expect((rows as unknown as { observer: unknown }).observer).not.toBe(before);
    stop();
    expect((rows as unknown as { observer: unknown }).observer).toBe(before);
  });

  it.each([
    ['no name', {}],
    ['an empty name', { name: '' }],
    ['a numeric name', { name: 7 }],
    ['an empty tenant', { name: 'rows', tenant: '' }],
    ['bad thresholds', { name: 'rows', thresholds: [2, 2] }],
    ['null thresholds', { name: 'rows', thresholds: null }],
  ])('rejects %s with INVALID_ARGUMENT and watches nothing', async (_, options) => {
    h = harness();
    const rows = new AtomicBudget(10);
    let error: unknown;
    try {
      h.telemetry.watch(rows, options as never);
    } catch (e) {
      error = e;
    }
    expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
    expect((rows as unknown as { observer: unknown }).observer).toBeUndefined();
    rows.tryReserveSync(1);
    expect(await h.points('budgetry.reservations')).toEqual([]);
    expect(await h.points('budgetry.available')).toEqual([]);
  });

  it('refuses a budget that declares itself asynchronous, whose gauges it could not read', async () => {
    h = harness();
    // A remote budget's shape: available() answers with a Promise, and it says so.
    const remote = (sync: boolean) => ({
      capacity: 10,
      capabilities: {
        sync,
        countRelease: true,
        partialCommit: false,
        retryHint: false,
        refill: undefined,
        schedulable: false,
      },
      available: () => (sync ? 10 : Promise.resolve(10)),
    });
    let error: unknown;
    try {
      h.telemetry.watch(remote(false) as never, { name: 'remote' });
    } catch (e) {
      error = e;
    }
    expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
    expect(await h.points('budgetry.available')).toEqual([]);
    h.telemetry.watch(remote(true) as never, { name: 'local' });
    expect((await h.points('budgetry.available')).map((p) => p.value)).toEqual([10]);
  });

  it('rejects watching the same budget twice, keeping the first watch', async () => {
    h = harness();
    const rows = new AtomicBudget(10);
    h.telemetry.watch(rows, { name: 'rows' });
    expect(() => h.telemetry.watch(rows, { name: 'again' })).toThrow(/watched already/);
    rows.tryReserveSync(1);
    expect(await h.points('budgetry.reservations')).toHaveLength(1);
  });

  it('rejects a second budget under the same name and tenant, whose gauges would collide', async () => {
    h = harness();
    h.telemetry.watch(new AtomicBudget(10), { name: 'rows', tenant: 'acme' });
    expect(() => h.telemetry.watch(new AtomicBudget(20), { name: 'rows', tenant: 'acme' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    h.telemetry.watch(new AtomicBudget(30), { name: 'rows', tenant: 'globex' });
    expect((await h.points('budgetry.available')).map((p) => p.value).sort()).toEqual([10, 30]);
  });

  it('refuses to watch after close', () => {
    h = harness();
    h.telemetry.close();
    expect(() => h.telemetry.watch(new AtomicBudget(1), { name: 'rows' })).toThrow(BudgetError);
  });
});

describe('BudgetTelemetry.watch of wrapped budgets', () => {
  it('watches a traced shadow as the shadow: shadow-labelled, its passes counted', async () => {
    h = harness();
    const policy = new AtomicBudget(10);
    const traced = h.telemetry.traceBudget(shadow(policy, { name: 'cap' }), { name: 'cap' });
    h.telemetry.watch(traced, { name: 'cap' });
    traced.tryReserveSync(8);
    expect(traced.tryReserveSync(5)).toBe(true); // the policy denies: let through
    const labels = { 'budgetry.budget': 'cap', 'budgetry.mode': 'shadow' };
    expect(await h.value('budgetry.reservations', labels)).toBe(1);
    expect(await h.value('budgetry.denials', labels)).toBe(1);
    expect(await h.value('budgetry.shadow.passes', labels)).toBe(1);
    expect(await h.value('budgetry.shadow.passed', labels)).toBe(5);
    expect(await h.value('budgetry.available', labels)).toBe(2);
    expect(h.spans().map((s) => s.attributes['budgetry.mode'])).toEqual(['shadow', 'shadow']);
  });

  it('refuses to watch a budget again through its traced wrapper, which would count it twice', async () => {
    h = harness();
    const rows = new AtomicBudget(10);
    h.telemetry.watch(rows, { name: 'rows' });
    const traced = h.telemetry.traceBudget(rows, { name: 'rows' });
    expect(() => h.telemetry.watch(traced, { name: 'traced-rows' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    traced.tryReserveSync(1);
    expect(await h.points('budgetry.reservations')).toEqual([
      { attributes: { 'budgetry.budget': 'rows', 'budgetry.mode': 'enforce' }, value: 1 },
    ]);
  });
});

describe('budgetTelemetry', () => {
  it.each([
    ['a meter that is not one', { meter: {} }],
    ['a meter without batch callbacks', { meter: { createCounter: () => ({}) } }],
    ['a tracer that is not one', { tracer: {} }],
  ])('rejects %s with INVALID_ARGUMENT', (_, options) => {
    h = harness();
    let error: unknown;
    try {
      budgetTelemetry(options as never);
    } catch (e) {
      error = e;
    }
    expect(BudgetError.isInstance(error) && error.code).toBe('INVALID_ARGUMENT');
  });
});
