// A tenant of a hierarchy whose root follows a refill schedule knows when room comes back: at
// the schedule's next refill, which empties every node. It says so as a retry hint, so a
// waiting line or a coordinator over the tenant wakes at the boundary even when no timer
// applies the refill (a lazy schedule). Found by a hostile review: such a line timed out with
// the tenant refilled under it.
import { AtomicBudget } from '@budgetry/core';
import { FakeClock } from '@budgetry/testing';
import { describe, expect, it } from 'vitest';
import { allOf, coordinator, hierarchy, lazyRefill, waiting } from '../src/index.js';
import { flush, outcome } from './helpers/waiting-outcome.js';

function lazyTree(clock: FakeClock) {
  const root = hierarchy({ capacity: 10, children: { capacity: 4 } });
  lazyRefill(root, { intervalMs: 1_000, clock });
  return { root, tenant: root.child('a') };
}

describe('a tenant under a lazily refilled root', () => {
  it('a waiting line over it is served at the boundary', async () => {
    const clock = new FakeClock(0);
    const { tenant } = lazyTree(clock);
    const line = waiting(tenant, { clock });
    line.tryAcquireSync(4)!.commitSync();
    const w = outcome(line.acquire(4, { timeoutMs: 5_000 }));
    await flush();
    clock.advance(999);
    await flush();
    expect(w.now()).toBe('pending');
    clock.advance(1);
    await flush();
    expect(w.now()).toBe('granted 4');
    expect(tenant.available()).toBe(0);
  });

  it('a line over an all-of of the tenant and a plain budget is served at the boundary', async () => {
    const clock = new FakeClock(0);
    const { tenant } = lazyTree(clock);
    const rows = new AtomicBudget(100);
    const line = waiting(allOf({ tenant, rows }), { clock });
    line.tryAcquireSync(3)!.commitSync();
    const w = outcome(line.acquire(2, { timeoutMs: 5_000 }));
    await flush();
    clock.advance(1_000);
    await flush();
    expect(w.now()).toBe('granted 2');
    expect([tenant.available(), rows.available()]).toEqual([2, 95]);
  });

  it("a coordinator's denial by the tenant says when to retry", () => {
    const clock = new FakeClock(0);
    const { tenant } = lazyTree(clock);
    const llm = coordinator({ tenant });
    expect(llm.tryReserveSync({ tenant: 3 }).ok).toBe(true);
    clock.advance(250);
    expect(llm.tryReserveSync({ tenant: 2 })).toEqual({
      ok: false,
      deniedBy: 'tenant',
      retryAfterMs: 750,
    });
  });

  it('declares the hint, and gives 0 when the cost fits, nothing for a cost above its path', () => {
    const clock = new FakeClock(0);
    const { root, tenant } = lazyTree(clock);
    expect([root.capabilities.retryHint, tenant.capabilities.retryHint]).toEqual([true, true]);
    expect(tenant.retryAfterMs(4)).toBe(0);
    expect(tenant.tryReserveSync(4)).toBe(true);
    clock.advance(400);
    expect(tenant.retryAfterMs(1)).toBe(600);
    expect(tenant.retryAfterMs(5)).toBeUndefined(); // above the tenant's capacity: never
    expect([root.retryAfterMs(6), root.retryAfterMs(7)]).toEqual([0, 600]);
  });

  it('an unscheduled tree gives no hint, and neither does one whose schedule was detached', () => {
    const root = hierarchy({ capacity: 10, children: { capacity: 4 } });
    const tenant = root.child('a');
    expect(tenant.tryReserveSync(4)).toBe(true);
    expect(tenant.retryAfterMs(1)).toBeUndefined();
    const detach = root.followSchedule(
      () => {},
      () => 123,
    );
    expect(tenant.retryAfterMs(1)).toBe(123);
    detach();
    expect(tenant.retryAfterMs(1)).toBeUndefined();
  });

  it('followSchedule refuses a nextRefill that is not a function, attaching nothing', () => {
    const root = hierarchy({ capacity: 10 });
    expect(() => root.followSchedule(() => {}, 5 as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => root.followSchedule(() => {})).not.toThrow(); // nothing was attached
  });
});
