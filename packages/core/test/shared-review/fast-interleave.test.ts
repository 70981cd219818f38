// Review: a thread that stops between its lock-free swap and its lane store (preempted there),
// while another thread takes the lock. Reproduced in one thread: the handle's Float64 view is
// wrapped so that the other handle's call runs just before the lane store lands.
import { SharedBudget } from '@budgetry/core';
import { expect, it } from 'vitest';
import { pauseBeforeLaneStore } from '../shared/fast-hooks.js';
import { ManualClock } from '../shared/manual-clock.js';

it('a lock holder that reads a lane while its lock-free release is half done', () => {
  const budget = new SharedBudget(100, { leakBackstop: false });
  const j = SharedBudget.open(budget.share(), { leakBackstop: false });
  const k = SharedBudget.open(budget.share(), { leakBackstop: false });
  const b = SharedBudget.open(budget.share(), { leakBackstop: false });
  expect(k.tryReserveSync(5)).toBe(true);
  expect(j.tryReserveSync(5)).toBe(true);
  // j releases its 5 without the lock; b releases 5 of the pool between j's swap and store.
  pauseBeforeLaneStore(j, () => b.releaseSync(5));
  j.releaseSync(5);
  // 10 reserved, 10 released: the pool is empty, nothing over-released.
  expect(budget.snapshot()).toMatchObject({ available: 100, held: 0, overReleased: 0 });
  // Nothing is held, so closing handles must not give anything back.
  k.close();
  j.close();
  b.close();
  const s = budget.snapshot();
  budget.close();
  expect({ available: s.available, held: s.held }).toEqual({ available: 100, held: 0 });
});

it('a reclaim that reads another lane while its lock-free release is half done', () => {
  const clock = new ManualClock();
  const options = { leakBackstop: false, clock, leaseMs: 1_000 } as const;
  const budget = new SharedBudget(100, options);
  const j = SharedBudget.open(budget.share(), options);
  const w = SharedBudget.open(budget.share(), options);
  expect(w.tryReserveSync(5)).toBe(true);
  expect(j.tryReserveSync(5)).toBe(true);
  (w as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();
  // j releases its own 5 without the lock; w's lease runs out and is reclaimed in between.
  let reclaimed: unknown;
  pauseBeforeLaneStore(j, () => {
    clock.advance(1_500);
    reclaimed = budget.reclaimExpired();
  });
  j.releaseSync(5);
  expect(reclaimed).toEqual({ handles: 1, units: 5 });
  j.close();
  const s = budget.snapshot();
  budget.close();
  expect({ available: s.available, held: s.held }).toEqual({ available: 100, held: 0 });
});
