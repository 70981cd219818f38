// Hostile review of SharedBudget / StripedSharedBudget: single-thread, deterministic breaks.
import { SharedBudget, StripedSharedBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../shared/manual-clock.js';

const stop = (b: SharedBudget): void =>
  (b as unknown as { region: { stopHeartbeat(): void } }).region.stopHeartbeat();

describe('review: use after close', () => {
  it("a non-creator handle's calls after its own close fail with CLOSED, not LEASE_EXPIRED", () => {
    const budget = new SharedBudget(10);
    const a = SharedBudget.open(budget.share());
    a.close();
    // closeLane's doc: "later calls on it fail with CLOSED"; refusal() has a CLOSED branch
    // (lane < 0) that is never reached because closeLane never resets `lane`.
    expect(() => a.tryReserveSync(1)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    budget.close();
  });

  it('a striped handle refuses the count API once the creator closed the budget', () => {
    const budget = new SharedBudget(100);
    const striped = StripedSharedBudget.open(budget.share(), { slice: 10 });
    expect(striped.tryReserveSync(1)).toBe(true); // takes a slice of 11
    budget.close();
    // "The creator's close() also closes the budget for every thread: later calls on any
    // handle fail with CLOSED" — the fast path only checks the lane generation.
    expect(() => striped.tryReserveSync(1)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(() => striped.releaseSync(1)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    striped.close();
  });
});

describe('review: reclaim after a cross-handle count release', () => {
  it('never lets more than the capacity be held (a release by another handle is not refunded twice)', () => {
    const clock = new ManualClock();
    const budget = new SharedBudget(10, { leaseMs: 1_000, clock });
    const victim = SharedBudget.open(budget.share(), { clock });
    const other = SharedBudget.open(budget.share(), { clock });
    // The count API is one pool: "Return cost units reserved with tryReserveSync in any thread".
    expect(victim.tryReserveSync(5)).toBe(true);
    budget.releaseSync(5); // the creator returns the victim's 5 (allowed, accepted in full)
    expect(budget.overReleased()).toBe(0);
    expect(other.tryReserveSync(5)).toBe(true); // other now genuinely holds 5
    stop(victim);
    clock.advance(10_000);
    budget.reclaimExpired(); // the victim's lane once said 5: they must not come back twice
    // other still holds its 5, so at most 5 may be reserved now.
    expect(budget.available()).toBeLessThanOrEqual(5);
    expect(budget.tryReserveSync(10)).toBe(false); // 10 + other's 5 would be 15 of 10
    other.close();
    budget.close();
  });
});

describe('review: a user clock that throws under the lock', () => {
  it('open() with a clock whose now() throws leaves neither the lock held nor a lane stuck', () => {
    const clock = {
      now: (): number => {
        throw new Error('clock broke');
      },
      setTimer: () => () => {},
    };
    const budget = new SharedBudget(10, { leaseMs: 1_000, maxHandles: 2 });
    // claimLane takes the lock, then calls clock.now() (region.ts claimLane) before its tail.
    expect(() => SharedBudget.open(budget.share(), { clock })).toThrow('clock broke');
    const started = Date.now();
    expect(budget.tryReserveSync(1)).toBe(true);
    // With the lock left held this blocks the main thread until the lease-based take-over.
    expect(Date.now() - started).toBeLessThan(200);
    // And the lane it took stays CLAIMING: no handle can be opened in its place.
    expect(() => SharedBudget.open(budget.share()).close()).not.toThrow();
    budget.close();
  });
});
