import { BudgetError, type SyncBudgetPermit, tokenBucket } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { TestClock } from './helpers/test-clock.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return undefined;
};

describe('tokenBucket', () => {
  it('refills continuously at the rate, up to the burst', () => {
    const clock = new TestClock();
    const bucket = tokenBucket({ burst: 10, rate: 2, clock }); // 2 per second
    expect(bucket.tryReserveSync(10)).toBe(true);
    clock.advance(499);
    expect(bucket.available()).toBe(0);
    clock.advance(1);
    expect(bucket.available()).toBe(1);
    clock.advance(60_000);
    expect(bucket.available()).toBe(10);
  });

  it('carries fractions exactly: three 1/3-token steps make one token, never more', () => {
    const clock = new TestClock();
    const bucket = tokenBucket({ burst: 5, rate: 1, per: 3, initial: 0, clock });
    clock.advance(1);
    expect(bucket.available()).toBe(0);
    clock.advance(1);
    expect(bucket.available()).toBe(0);
    clock.advance(1);
    expect(bucket.available()).toBe(1);
  });

  it('knows exactly when a denied request will fit', () => {
    const clock = new TestClock();
    const bucket = tokenBucket({ burst: 10, rate: 3, clock, initial: 0 });
    clock.advance(100); // 0.3 token accrued
    expect(bucket.retryAfterMs(2)).toBe(567); // (2 − 0.3) / 3 per second, rounded up
    clock.advance(566);
    expect(bucket.tryReserveSync(2)).toBe(false);
    clock.advance(1);
    expect(bucket.tryReserveSync(2)).toBe(true);
    expect(bucket.retryAfterMs(11)).toBeUndefined();
  });

  it('gives released permits back once, never past the burst', () => {
    const clock = new TestClock();
    const bucket = tokenBucket({ burst: 4, rate: 1, clock });
    const p = bucket.tryAcquireSync(3)!;
    clock.advance(10_000);
    expect(p.releaseSync()).toBe(true);
    expect(p.releaseSync()).toBe(false);
    expect(bucket.available()).toBe(4);
    bucket.releaseSync(2); // nothing held through the count API
    expect(bucket.available()).toBe(4);
    expect(bucket.overReleased()).toBe(2);
  });

  it('tells an all-of when to retry', () => {
    const clock = new TestClock();
    const rps = tokenBucket({ burst: 1, rate: 1, clock });
    const both = allOf({ rps, other: tokenBucket({ burst: 5, rate: 1, clock }) });
    both.tryReserveSync(1);
    expect(both.tryAcquireDetailedSync(1)).toEqual({
      ok: false,
      deniedBy: 'rps',
      retryAfterMs: 1_000,
    });
  });

  it('rejects bad options at construction', () => {
    expect(codeOf(() => tokenBucket({ burst: 1, rate: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => tokenBucket({ burst: 1, rate: -1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => tokenBucket({ burst: 1, rate: 1, per: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => tokenBucket({ burst: -1, rate: 1 }))).toBe('INVALID_AMOUNT');
    expect(codeOf(() => tokenBucket({ burst: 1, rate: 1, initial: 2 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => tokenBucket(null as never))).toBe('INVALID_ARGUMENT');
  });
});

describe('tokenBucket: properties', () => {
  it('never grants more than burst + rate × elapsed (net of releases); A ≤ C', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.array(fc.tuple(fc.nat(300), fc.nat(8), fc.nat(10)), { maxLength: 60 }),
        (burst, rate, per, ops) => {
          const clock = new TestClock();
          const bucket = tokenBucket({ burst, rate, per, clock });
          const permits: SyncBudgetPermit[] = [];
          let granted = 0;
          for (const [ms, cost, releaseIndex] of ops) {
            clock.advance(ms);
            const wait = bucket.retryAfterMs(cost);
            const p = bucket.tryAcquireSync(cost);
            if (p) {
              granted += cost;
              permits.push(p);
              expect(wait).toBe(0);
            } else if (wait !== undefined) {
              // Waiting exactly the hint makes it fit (nothing else happens meanwhile) ...
              expect(wait).toBeGreaterThan(0);
              clock.advance(wait - 1);
              expect(bucket.available()).toBeLessThan(cost);
              clock.advance(1);
              expect(bucket.available()).toBeGreaterThanOrEqual(cost);
            }
            const victim = permits[releaseIndex];
            if (victim?.releaseSync()) granted -= victim.cost;
            const accrued = Math.floor((clock.now() * rate) / per);
            expect(granted).toBeLessThanOrEqual(burst + accrued);
            expect(bucket.available()).toBeLessThanOrEqual(burst);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
