// Review 2: a lock holder moves count-API records between lanes (releaseCountOfOthers) while
// another handle's lock-free call is between its swap and its lane store. The records stay
// wrong after the store lands; once the pool holds units again, a close gives back units that
// another handle still holds. One thread: the paused handle's Float64 view is wrapped so the
// other handles' calls run just before its lane store lands (a preempted thread).
import { SharedBudget } from '@budgetry/core';
import { expect, it } from 'vitest';
import { pauseBeforeLaneStore } from '../shared/fast-hooks.js';

const quiet = { leakBackstop: false } as const;

function open(budget: SharedBudget): SharedBudget {
  return SharedBudget.open(budget.share(), quiet);
}

it('a half-done lock-free release, then a reservation: closing the stale lane gives back held units', () => {
  const budget = new SharedBudget(100, quiet);
  const j = open(budget);
  const k = open(budget);
  const b = open(budget);
  expect(k.tryReserveSync(5)).toBe(true);
  expect(j.tryReserveSync(5)).toBe(true);
  // j releases its own 5 without the lock; b releases k's 5 between j's swap and its store.
  pauseBeforeLaneStore(j, () => b.releaseSync(5));
  j.releaseSync(5);
  expect(budget.snapshot()).toMatchObject({ available: 100, held: 0 });
  // b reserves 5 and holds them; k holds nothing (b released its 5), so closing k gives none.
  expect(b.tryReserveSync(5)).toBe(true);
  k.close();
  expect(budget.snapshot()).toMatchObject({ available: 95, held: 5 });
  // b's release of what it reserved is not an over-release.
  b.releaseSync(5);
  expect(budget.snapshot()).toMatchObject({ available: 100, held: 0, overReleased: 0 });
  j.close();
  b.close();
  budget.close();
});

it('a half-done lock-free reservation read by a release of its units: closing gives back held units', () => {
  const budget = new SharedBudget(100, quiet);
  const j = open(budget);
  const k = open(budget);
  const b = open(budget);
  expect(j.tryReserveSync(5)).toBe(true);
  // j reserves 3 more without the lock; b releases all 8 of j's between j's swap and store.
  pauseBeforeLaneStore(j, () => b.releaseSync(8));
  expect(j.tryReserveSync(3)).toBe(true);
  expect(budget.snapshot()).toMatchObject({ available: 100, held: 0, overReleased: 0 });
  // k reserves 3 and holds them; j holds nothing, so closing j gives nothing back.
  expect(k.tryReserveSync(3)).toBe(true);
  j.close();
  expect(budget.snapshot()).toMatchObject({ available: 97, held: 3 });
  k.releaseSync(3);
  expect(budget.snapshot()).toMatchObject({ available: 100, held: 0, overReleased: 0 });
  k.close();
  b.close();
  budget.close();
});

it('strict: a handle releasing what it reserved is refused after a stale record was closed', () => {
  const budget = new SharedBudget(100, { ...quiet, strict: true });
  const j = open(budget);
  const k = open(budget);
  const b = open(budget);
  expect(k.tryReserveSync(5)).toBe(true);
  expect(j.tryReserveSync(5)).toBe(true);
  pauseBeforeLaneStore(j, () => b.releaseSync(5));
  j.releaseSync(5);
  expect(b.tryReserveSync(5)).toBe(true);
  k.close();
  // 5 reserved through b and not released: releasing them must not throw OVER_RELEASE.
  expect(() => b.releaseSync(5)).not.toThrow();
  j.close();
  b.close();
  budget.close();
});
