// Regressions from a hostile review of the compose rework: overage on combinator dimensions,
// count reservations on token members fenced by reset refills, and partial commits through a
// waiting line.
import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf, anyOf, coordinator, hierarchy, lazyRefill, waiting } from '../src/index.js';
import { TestClock } from './helpers/test-clock.js';

describe('coordinator overage on a dimension whose units are not one pool', () => {
  it('any-of: the overage is reported, never taken from a member the permit does not name', () => {
    const primary = new AtomicBudget(100);
    const fallback = new AtomicBudget(100);
    const c = coordinator({ key: anyOf({ primary, fallback }) });
    const d = c.tryReserveSync({ key: 100 }); // served by primary, now full
    if (!d.ok) throw new Error('denied');
    const report = d.permit.settleSync({ key: 130 });
    expect([primary.available(), fallback.available()]).toEqual([0, 100]);
    expect(report.shortfall).toEqual({ key: 30 });
  });

  it('all-of with a fixed charge: the overage is reported, never a second fixed charge', () => {
    const rows = new AtomicBudget(10);
    const tokens = new AtomicTokenBudget(1_000);
    const c = coordinator({ gate: allOf({ rows, tokens }, { charge: { rows: 1 } }) });
    const d = c.tryReserveSync({ gate: 100 });
    if (!d.ok) throw new Error('denied');
    const report = d.permit.settleSync({ gate: 150 });
    expect([rows.available(), tokens.available()]).toEqual([9, 900]);
    expect(report.shortfall).toEqual({ gate: 50 });
  });

  it('all-of with uniform charges takes it on every member, as before', () => {
    const a = new AtomicBudget(10);
    const b = new AtomicBudget(10);
    const c = coordinator({ both: allOf([a, b]) });
    const d = c.tryReserveSync({ both: 4 });
    if (!d.ok) throw new Error('denied');
    expect(d.permit.settleSync({ both: 6 }).shortfall).toEqual({});
    expect([a.available(), b.available()]).toEqual([4, 4]);
  });
});

describe('count reservations on token members, across reset refills', () => {
  it('an any-of over a token budget forgets those a refill fenced off', () => {
    const tokens = new AtomicTokenBudget(10);
    const either = anyOf([tokens]);
    expect(either.tryReserveSync(7)).toBe(true);
    tokens.refill();
    expect(either.held()).toBe(0);
  });

  it('a stale release after a scheduled refill frees nobody else’s units', () => {
    const clock = new TestClock(0);
    const tokens = new AtomicTokenBudget(10);
    const scheduled = lazyRefill(tokens, { intervalMs: 100, clock });
    const either = anyOf([scheduled]);
    expect(either.tryReserveSync(10)).toBe(true);
    clock.advance(100);
    expect(scheduled.tryReserveTokensSync(10)).not.toBeNull(); // someone else, new epoch
    either.releaseSync(10); // the any-of's reservation belongs to the old epoch
    expect(tokens.available()).toBe(0);
  });

  it('a waiting line over a reset budget says its epoch, so an any-of over it fences too', () => {
    const rows = new AtomicBudget(5);
    const either = anyOf([waiting(rows)]);
    expect(either.tryReserveSync(5)).toBe(true);
    rows.refill();
    expect(either.held()).toBe(0);
  });
});

describe('waiting: a partial commit through its permit', () => {
  it('wakes the line with the units it returns', async () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    const line = waiting(root.child('acme'));
    const p = line.tryAcquireSync(10)!;
    let served = false;
    const next = line.acquire(5).then((q) => {
      served = true;
      return q;
    });
    await Promise.resolve();
    expect(served).toBe(false);
    p.commitSync(5); // 5 of the 10 come back
    (await next).releaseSync();
    expect(served).toBe(true);
  });
});
