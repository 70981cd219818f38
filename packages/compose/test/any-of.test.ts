import {
  AtomicBudget,
  BudgetError,
  type BudgetPermit,
  type PermitBudgetGuard,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyOf } from '../src/any-of/any-of.js';
import { AnyOf } from '../src/any-of/async-any-of.js';
import type { SyncAnyOfPermit } from '../src/any-of/permits.js';
import { SyncAnyOf } from '../src/any-of/sync-any-of.js';
import { HintedBudget } from './helpers/hinted.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return undefined;
};

describe('anyOf: behaviour', () => {
  it('charges the first member that admits, in priority order, and says which', () => {
    const primary = new AtomicBudget(10);
    const fallback = new AtomicBudget(50);
    const pool = anyOf({ primary, fallback });
    expect(pool).toBeInstanceOf(SyncAnyOf);
    const a = pool.tryAcquireSync(8)!;
    const b = pool.tryAcquireSync(8)!;
    expect([a.member, b.member]).toEqual(['primary', 'fallback']);
    expect([primary.available(), fallback.available()]).toEqual([2, 42]);
    b.releaseSync();
    expect(b.releaseSync()).toBe(false);
    expect(fallback.available()).toBe(50);
  });

  it('charges none on denial and gives the soonest retry any member knows', () => {
    const slow = new HintedBudget(1, 900);
    const fast = new HintedBudget(1, 100);
    const pool = anyOf([slow, fast]);
    expect(pool.tryAcquireDetailedSync(2)).toEqual({
      ok: false,
      deniedBy: [0, 1],
      retryAfterMs: 100,
    });
    expect([slow.available(), fast.available()]).toEqual([1, 1]);
  });

  it('prefers the member with the largest free share with least-utilized', () => {
    const a = new AtomicBudget(100);
    const b = new AtomicBudget(10);
    a.tryReserveSync(60); // a is 40% free, b 100%
    const pool = anyOf({ a, b }, { strategy: 'least-utilized' });
    expect(pool.tryAcquireSync(7)?.member).toBe('b');
    expect(pool.tryAcquireSync(1)?.member).toBe('a'); // now b is 30% free
  });

  it('releases a count reservation to the member that took it', () => {
    const a = new AtomicBudget(5);
    const b = new AtomicBudget(5);
    const pool = anyOf([a, b]);
    expect(pool.tryReserveSync(4)).toBe(true);
    expect(pool.tryReserveSync(4)).toBe(true);
    pool.releaseSync(4);
    pool.releaseSync(4);
    pool.releaseSync(4); // nothing left: counted, ignored
    expect([a.available(), b.available()]).toEqual([5, 5]);
    expect(pool.overReleased()).toBe(4);
  });

  it('rejects bad input with nothing built or changed', () => {
    const a = new AtomicBudget(5);
    expect(codeOf(() => anyOf([]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => anyOf([a, a]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => anyOf([a], { strategy: 'random' as never }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => anyOf([a]).tryAcquireSync(-1))).toBe('INVALID_AMOUNT');
    expect(a.available()).toBe(5);
  });
});

describe('anyOf: properties', () => {
  it('charges exactly one member on success and none on denial', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(15), { minLength: 1, maxLength: 4 }),
        fc.constantFrom('priority' as const, 'least-utilized' as const),
        fc.array(fc.tuple(fc.nat(12), fc.nat(10)), { maxLength: 40 }),
        (caps, strategy, ops) => {
          const members = caps.map((c) => new AtomicBudget(c));
          const pool = anyOf(members, { strategy });
          const held: SyncAnyOfPermit<number>[] = [];
          for (const [cost, releaseIndex] of ops) {
            const before = members.map((m) => m.available());
            const p = pool.tryAcquireSync(cost);
            const after = members.map((m) => m.available());
            const changed = after.map((a, i) => before[i]! - a);
            if (p === null) {
              expect(changed.every((d) => d === 0)).toBe(true);
              expect(before.every((a) => a < cost)).toBe(true);
            } else {
              held.push(p);
              expect(changed[p.member]).toBe(cost);
              expect(changed.filter((d, i) => i !== p.member && d !== 0)).toEqual([]);
              if (strategy === 'priority') {
                expect(before.findIndex((a) => a >= cost)).toBe(p.member);
              }
            }
            const victim = held[releaseIndex];
            if (victim) victim.releaseSync();
            const live = held.filter((h) => h.state === 'held');
            members.forEach((m, i) => {
              const mine = live.filter((h) => h.member === i).reduce((s, h) => s + h.cost, 0);
              expect(m.available()).toBe(caps[i]! - mine);
            });
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('under interleavings, charges exactly one member per permit (async members)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.nat(10), { minLength: 2, maxLength: 3 }),
        fc.array(fc.nat(8), { minLength: 1, maxLength: 8 }),
        async (s, caps, costs) => {
          const inner = caps.map((c) => new AtomicBudget(c));
          const members: PermitBudgetGuard[] = inner.map((b) => ({
            async tryAcquire(cost: number): Promise<BudgetPermit | null> {
              await s.schedule(Promise.resolve('acquire'));
              return b.tryAcquireSync(cost);
            },
            async tryReserve(cost: number) {
              return b.tryReserveSync(cost);
            },
            async release(cost: number) {
              b.releaseSync(cost);
            },
          }));
          const pool = anyOf(members);
          expect(pool).toBeInstanceOf(AnyOf);
          const permits = await s.waitFor(Promise.all(costs.map((c) => pool.tryAcquire(c))));
          inner.forEach((b, i) => {
            const mine = permits.filter((p) => p?.member === i).reduce((a, p) => a + p!.cost, 0);
            expect(b.available()).toBe(caps[i]! - mine);
          });
          await Promise.all(permits.map((p) => p?.release()));
          expect(inner.map((b) => b.available())).toEqual(caps);
        },
      ),
      { numRuns: 150 },
    );
  });
});
