import { BudgetError, type SyncBudgetPermit, slidingWindow } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TestClock } from './helpers/test-clock.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return undefined;
};

describe('slidingWindow', () => {
  it('has no double burst at a window edge', () => {
    const clock = new TestClock();
    const rpm = slidingWindow({ limit: 60, windowMs: 60_000, clock });
    clock.advance(59_000);
    expect(rpm.tryReserveSync(60)).toBe(true);
    clock.advance(2_000); // a fixed window would be fresh here
    expect(rpm.tryReserveSync(1)).toBe(false);
    expect(rpm.retryAfterMs(1)).toBe(58_000);
    clock.advance(58_000);
    expect(rpm.tryReserveSync(60)).toBe(true);
  });

  it('frees a window slot when a permit is released', () => {
    const clock = new TestClock();
    const w = slidingWindow({ limit: 3, windowMs: 1_000, clock });
    const a = w.tryAcquireSync(2)!;
    w.tryReserveSync(1);
    expect(w.available()).toBe(0);
    expect(a.releaseSync()).toBe(true);
    expect(a.releaseSync()).toBe(false);
    expect(w.available()).toBe(2);
    w.releaseSync(1);
    w.releaseSync(1); // nothing left through the count API
    expect(w.available()).toBe(3);
    expect(w.overReleased()).toBe(1);
  });

  it('releasing a grant that already slid out changes nothing', () => {
    const clock = new TestClock();
    const w = slidingWindow({ limit: 2, windowMs: 100, clock });
    const p = w.tryAcquireSync(2)!;
    clock.advance(100);
    w.tryReserveSync(2);
    p.releaseSync();
    expect(w.available()).toBe(0);
  });

  it('rejects bad options at construction', () => {
    expect(codeOf(() => slidingWindow({ limit: 1, windowMs: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => slidingWindow({ limit: 1, windowMs: -10 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => slidingWindow({ limit: 1.5, windowMs: 10 }))).toBe('INVALID_AMOUNT');
  });
});

describe('slidingWindow: properties', () => {
  it('any window of windowMs holds at most limit live grants; retry hints are exact', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.tuple(fc.nat(120), fc.nat(6), fc.boolean(), fc.nat(30), fc.boolean()), {
          maxLength: 80,
        }),
        (limit, windowMs, ops) => {
          const clock = new TestClock();
          const w = slidingWindow({ limit, windowMs, clock });
          // Every live unit of grant, with its time; releases remove their units.
          const grants: { t: number; cost: number; p: SyncBudgetPermit | null }[] = [];
          for (const [ms, cost, usePermit, releaseIndex, countRelease] of ops) {
            clock.advance(ms);
            const now = clock.now();
            const inWindow = () =>
              grants
                .filter((g) => g.t > now - windowMs && (g.p === null || g.p.state !== 'released'))
                .reduce((a, g) => a + g.cost, 0);
            const wait = w.retryAfterMs(cost);
            const fits = inWindow() + cost <= limit;
            if (usePermit) {
              const p = w.tryAcquireSync(cost);
              expect(p !== null).toBe(fits);
              if (p) grants.push({ t: now, cost, p });
            } else {
              expect(w.tryReserveSync(cost)).toBe(fits);
              if (fits) grants.push({ t: now, cost, p: null });
            }
            if (cost <= limit) expect(wait === 0).toBe(fits);
            const victim = grants[releaseIndex];
            if (victim?.p) victim.p.releaseSync();
            if (countRelease) {
              // Newest count grant still in the window, whole (the model releases exact grants).
              const newest = [...grants]
                .reverse()
                .find((g) => g.p === null && g.cost > 0 && g.t > now - windowMs);
              if (newest) {
                w.releaseSync(newest.cost);
                newest.cost = 0;
              }
            }
            expect(w.available()).toBe(limit - inWindow());
            expect(inWindow()).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
