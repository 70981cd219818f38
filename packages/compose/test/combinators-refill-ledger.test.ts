// The count API of anyOf and of asynchronous allOf keeps a record per reservation; a member
// under `reset` forgets its reservations at a refill, and the record must forget them too, or
// consume-and-refill use grows it (and held()) without bound.
import {
  AtomicBudget,
  type BudgetPermit,
  type PermitBudgetGuard,
  type SyncBudgetGuard,
} from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { anyOf } from '../src/any-of/any-of.js';
import { AllOf, AnyOf } from '../src/index.js';
import { lazyRefill } from '../src/refill/lazy-refill.js';
import { TestClock } from './helpers/test-clock.js';

/**
 * An asynchronous view of a scheduled guard that says what it is: its refill policy and its
 * epoch, as a remote budget could.
 */
function asyncView(guard: SyncBudgetGuard & { readonly epoch: number }): PermitBudgetGuard {
  const caps = (guard as unknown as { capabilities: object }).capabilities;
  return {
    capabilities: { ...caps, sync: false },
    get epoch() {
      return guard.epoch;
    },
    tryAcquire: async (cost: number): Promise<BudgetPermit | null> => guard.tryAcquireSync(cost),
    tryReserve: async (cost: number) => guard.tryReserveSync(cost),
    release: async (cost: number) => guard.releaseSync(cost),
  } as PermitBudgetGuard;
}

describe('anyOf: count reservations a reset refill made a member forget', () => {
  it('are forgotten by the any-of too; under carry they are kept', () => {
    const clock = new TestClock(0);
    const reset = lazyRefill(new AtomicBudget(1), { intervalMs: 1, clock });
    const pool = anyOf([reset]);
    for (let i = 0; i < 10_000; i++) {
      expect(pool.tryReserveSync(1)).toBe(true);
      clock.advance(1);
    }
    expect(pool.held()).toBe(0);
    expect(pool.tryReserveSync(1)).toBe(true);
    expect(pool.held()).toBe(1);
    pool.releaseSync(1);
    expect([pool.held(), reset.available(), pool.overReleased()]).toEqual([0, 1, 0]);

    const carry = lazyRefill(new AtomicBudget(2, { refillPolicy: 'carry' }), {
      intervalMs: 1,
      clock,
    });
    const kept = anyOf([carry]);
    expect(kept.tryReserveSync(1)).toBe(true);
    clock.advance(5);
    expect(kept.held()).toBe(1);
    kept.releaseSync(1);
    expect(carry.available()).toBe(2);
  });

  it('asynchronous: fenced permits are dropped (and settled), the rest kept', async () => {
    const clock = new TestClock(0);
    const local = lazyRefill(new AtomicBudget(1), { intervalMs: 1, clock });
    const exhausted = new AtomicBudget(0);
    const pool = anyOf({
      primary: asyncView(lazyRefill(exhausted, { intervalMs: 1_000_000, clock })),
      local,
    });
    expect(pool).toBeInstanceOf(AnyOf);
    for (let i = 0; i < 1_000; i++) {
      expect(await pool.tryReserve(1)).toBe(true);
      clock.advance(1);
    }
    expect(pool.held()).toBe(0);
  });
});

describe('allOf (asynchronous): count reservations every member fenced off', () => {
  it('are dropped; one a member still holds is kept', async () => {
    const clock = new TestClock(0);
    const fast = lazyRefill(new AtomicBudget(1), { intervalMs: 1, clock });
    const slow = lazyRefill(new AtomicBudget(1_000), { intervalMs: 10, clock });
    const gate = allOf({ fast: asyncView(fast), slow: asyncView(slow) });
    expect(gate).toBeInstanceOf(AllOf);
    for (let i = 0; i < 995; i++) {
      expect(await gate.tryReserve(1)).toBe(true);
      clock.advance(1);
    }
    // Only the reservations of slow's current epoch (taken at 990 … 994) can still return
    // anything, to slow.
    expect([gate.held(), slow.budget.held()]).toEqual([5, 5]);
    const before = slow.available();
    await gate.release(1);
    expect(slow.available()).toBe(before + 1);
  });
});
