// Totals in allOf and anyOf stay in the safe-integer range: held() exact where it can be and
// never above 2^53 − 1, over-released counters saturating there, and a permit whose cost
// would leave the range refused before anything is charged.
import { AtomicBudget, BudgetError, type PermitBudgetGuard, tokenBucket } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { anyOf } from '../src/any-of/any-of.js';
import { TestClock } from './helpers/test-clock.js';

const MAX = Number.MAX_SAFE_INTEGER;

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return undefined;
};

/** An asynchronous guard over an in-process budget. */
function remote(inner: AtomicBudget): PermitBudgetGuard {
  return {
    tryAcquire: async (cost) => inner.tryAcquireSync(cost),
    tryReserve: async (cost) => inner.tryReserveSync(cost),
    release: async (cost) => inner.releaseSync(cost),
  };
}

describe('allOf with fixed charges: count API totals', () => {
  it('keeps held() exact past 2^53 − 1, reading at most 2^53 − 1, and back to 0 at the end', () => {
    const a = new AtomicBudget(10);
    const b = new AtomicBudget(10);
    const gate = allOf({ a, b }, { charge: { a: 1, b: 1 } });
    for (let i = 0; i < 3; i++) expect(gate.tryReserveSync(MAX)).toBe(true);
    expect(gate.tryReserveSync(5)).toBe(true);
    expect(gate.held()).toBe(MAX);
    gate.releaseSync(MAX);
    gate.releaseSync(MAX);
    expect(gate.held()).toBe(MAX); // MAX + 5 still held
    gate.releaseSync(MAX);
    expect(gate.held()).toBe(5);
    gate.releaseSync(5);
    expect([gate.held(), a.available(), b.available(), gate.overReleased()]).toEqual([
      0, 10, 10, 0,
    ]);
  });
});

describe('allOf.tryAcquireEach: the permit cost is the sum of the costs', () => {
  it('refuses costs that sum past 2^53 − 1 with INVALID_AMOUNT, charging nothing', async () => {
    const a = new AtomicBudget(MAX);
    const b = new AtomicBudget(MAX);
    const gate = allOf({ a, b });
    expect(codeOf(() => gate.tryAcquireEachSync({ a: MAX, b: 1 }))).toBe('INVALID_AMOUNT');
    expect(codeOf(() => gate.tryAcquireEachSync([MAX, MAX]))).toBe('INVALID_AMOUNT');
    expect([a.available(), b.available()]).toEqual([MAX, MAX]);
    const d = gate.tryAcquireEachSync({ a: MAX - 1, b: 1 });
    expect(d.ok && d.permit.cost).toBe(MAX);

    const c = new AtomicBudget(MAX);
    const asyncGate = allOf({ c: remote(c), b });
    await expect(asyncGate.tryAcquireEach([MAX, 1])).rejects.toMatchObject({
      code: 'INVALID_AMOUNT',
    });
    expect(c.available()).toBe(MAX);
  });
});

describe('count-API counters past 2^53 − 1', () => {
  it('anyOf held() sums its members exactly and reads at most 2^53 − 1', () => {
    const pool = anyOf([new AtomicBudget(MAX), new AtomicBudget(MAX), new AtomicBudget(MAX)]);
    for (let i = 0; i < 3; i++) expect(pool.tryReserveSync(MAX)).toBe(true);
    expect(pool.held()).toBe(MAX);
    pool.releaseSync(MAX);
    pool.releaseSync(MAX);
    expect(pool.held()).toBe(MAX);
    expect(pool.tryReserveSync(7)).toBe(true);
    pool.releaseSync(MAX);
    expect(pool.held()).toBe(7);
  });

  it('over-released counters saturate at 2^53 − 1', async () => {
    const uniform = allOf([new AtomicBudget(1), new AtomicBudget(1)]);
    const fixed = allOf([new AtomicBudget(1), new AtomicBudget(1)], { charge: { 0: 1 } });
    const pool = anyOf([new AtomicBudget(1)]);
    const asyncGate = allOf([remote(new AtomicBudget(1)), new AtomicBudget(1)]);
    for (let i = 0; i < 2; i++) {
      uniform.releaseSync(MAX);
      fixed.releaseSync(MAX);
      pool.releaseSync(MAX);
      await asyncGate.release(MAX);
    }
    expect([
      uniform.overReleased(),
      fixed.overReleased(),
      pool.overReleased(),
      asyncGate.overReleased(),
    ]).toEqual([MAX, MAX, MAX, MAX]);
  });

  it('allOf held() stays in the range over members that bound nothing (rate limiters)', () => {
    const clock = new TestClock(0);
    const bucket = () => tokenBucket({ burst: MAX, rate: MAX, per: 1, clock });
    for (const gate of [allOf([bucket(), bucket()]), allOf([bucket()])]) {
      expect(gate.tryReserveSync(MAX)).toBe(true);
      clock.advance(1); // the buckets are full again
      expect(gate.tryReserveSync(MAX)).toBe(true);
      expect(gate.held()).toBe(MAX);
      gate.releaseSync(MAX);
      expect(gate.held()).toBe(0);
    }
  });
});
