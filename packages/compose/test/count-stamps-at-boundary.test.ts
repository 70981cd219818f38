// A count reservation taken through anyOf or a token guard just before a refill boundary, on a
// clock that moves during the call: the boundary passes between the member's charge and the
// combinator's look at the member's epoch. The reservation belongs to the epoch it was
// charged in, which the refill made the member forget: a later count release must not return
// units someone else holds in the new epoch.
import { AtomicBudget, AtomicTokenBudget, type CancelTimer, type Clock } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { anyOf, lazyRefill, tokenGuard } from '../src/index.js';

/** A clock that moves `step` ms every time it is read. */
class TickingClock implements Clock {
  constructor(
    public t: number,
    public step = 0,
  ) {}
  now(): number {
    const v = this.t;
    this.t += this.step;
    return v;
  }
  setTimer(): CancelTimer {
    return () => {};
  }
}

describe('a count reservation charged just before a refill boundary', () => {
  for (const step of [0, 1]) {
    it(`anyOf: released after the boundary, it frees nobody else's units (clock step ${step} ms)`, () => {
      const clock = new TickingClock(0);
      const budget = new AtomicBudget(10, { refillPolicy: 'reset' });
      const member = lazyRefill(budget, { intervalMs: 1_000, clock, startAt: 0 });
      const pool = anyOf([member]);
      clock.t = 996;
      clock.step = step;
      expect(pool.tryReserveSync(5)).toBe(true);
      clock.step = 0;
      clock.t = 1_500; // epoch 1: a reservation of epoch 0 is forgotten
      expect(budget.epoch).toBe(1);
      const ownHeld = budget.held(); // 5 only if the charge landed in epoch 1
      expect(member.tryReserveSync(5)).toBe(true); // another caller, in epoch 1
      pool.releaseSync(5);
      // The other caller's 5 are still held, beside the pool's own 5 if they were charged
      // in epoch 1 (stamped with epoch 0, they wait for the next refill: held, never lost).
      expect(budget.held()).toBe(5 + ownHeld);
      expect(pool.held()).toBe(0);
    });

    it(`tokenGuard: released after the boundary, it frees nobody else's units (clock step ${step} ms)`, () => {
      const clock = new TickingClock(0);
      const tokens = new AtomicTokenBudget(10, { refillPolicy: 'reset' });
      const scheduled = lazyRefill(tokens, { intervalMs: 1_000, clock, startAt: 0 });
      const guard = tokenGuard(scheduled);
      clock.t = 996;
      clock.step = step;
      expect(guard.tryReserveSync(5)).toBe(true);
      clock.step = 0;
      clock.t = 1_500;
      expect(tokens.epoch).toBe(1);
      const ownHeld = 10 - tokens.available();
      expect(scheduled.tryReserveTokensSync(5)).not.toBeNull(); // another caller, in epoch 1
      guard.releaseSync(5);
      // The other caller's 5 stay reserved; the guard's own 5 come back only if they were
      // charged in this epoch.
      expect(tokens.available()).toBe(5);
      expect(ownHeld === 0 || ownHeld === 5).toBe(true);
    });
  }
});
