// An all-of permit whose member fails to settle used to count as settled: a second release or
// commit answered false. Every piece that retries a failed settle — a coordinator's settle or
// cancel, `run`'s clean-up, a waiting line's permit — then took the dimension as done, and
// the failing member kept its units with no handle left to return them. The permit now stays
// held after a failure; settling it again settles only the parts still held.
import { AtomicBudget, type SyncBudgetPermit } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { anyOf } from '../src/any-of/any-of.js';
import { coordinator } from '../src/coordinator/index.js';
import { waiting } from '../src/waiting/index.js';
import { remoteGuard } from './helpers/remote-guard.js';

/** Makes `method` of `target` throw the next `times` calls, then behave. */
function failing<T extends object>(target: T, method: keyof T & string, times = 1): T {
  const real = (target[method] as (...args: unknown[]) => unknown).bind(target);
  let left = times;
  Object.assign(target, {
    [method]: (...args: unknown[]) => {
      if (left-- > 0) throw new Error(`${method} failed`);
      return real(...args);
    },
  });
  return target;
}

/** An AtomicBudget whose permits fail their first `method` call (a transient error). */
function flaky(capacity: number, method: 'releaseSync' | 'commitSync'): AtomicBudget {
  const budget = new AtomicBudget(capacity, { leakBackstop: false });
  const acquire = budget.tryAcquireSync.bind(budget);
  budget.tryAcquireSync = (cost: number) => {
    const p = acquire(cost);
    return p === null ? null : failing(p, method);
  };
  return budget;
}

describe('an all-of permit whose member fails to settle', () => {
  it('stays held, and a second release returns the failing part and no other twice', () => {
    const a = flaky(10, 'releaseSync');
    const b = new AtomicBudget(10);
    const permit = allOf({ a, b }).tryAcquireSync(3)!;
    expect(() => permit.releaseSync()).toThrow(expect.objectContaining({ code: 'BACKEND' }));
    expect([permit.state, a.available(), b.available()]).toEqual(['held', 7, 10]);
    expect(permit.releaseSync()).toBe(true);
    expect([permit.state, a.available(), b.available()]).toEqual(['released', 10, 10]);
    expect(permit.releaseSync()).toBe(false);
  });

  it('commits the failing part on a second partial commit, the others once', () => {
    const a = flaky(10, 'commitSync');
    const b = new AtomicBudget(10);
    const permit = allOf({ a, b }).tryAcquireSync(6)!;
    expect(() => permit.commitSync(2)).toThrow(expect.objectContaining({ code: 'BACKEND' }));
    expect([a.available(), b.available()]).toEqual([4, 8]);
    expect(permit.commitSync(2)).toBe(true);
    expect([permit.state, a.available(), b.available()]).toEqual(['committed', 8, 8]);
  });

  it('is released whole by a coordinator cancel retried after a failure', () => {
    const a = flaky(10, 'releaseSync');
    const b = new AtomicBudget(10);
    const d = coordinator({ both: allOf({ a, b }) }).tryReserveSync({ both: 3 });
    if (!d.ok) throw new Error('denied');
    expect(() => d.permit.cancelSync()).toThrow();
    expect(d.permit.state).toBe('held');
    expect(d.permit.cancelSync()).toBe(true);
    expect([a.available(), a.held(), b.available()]).toEqual([10, 0, 10]);
  });

  it('is settled by a coordinator settle retried after a failure', () => {
    const a = flaky(10, 'commitSync');
    const b = new AtomicBudget(10);
    const d = coordinator({ both: allOf({ a, b }) }).tryReserveSync({ both: 6 });
    if (!d.ok) throw new Error('denied');
    expect(() => d.permit.settleSync({ both: 2 })).toThrow();
    expect(d.permit.state).toBe('held');
    d.permit.settleSync({ both: 2 });
    expect(d.permit.state).toBe('settled');
    expect([a.available(), b.available()]).toEqual([8, 8]);
  });

  it("leaves nothing held after run's clean-up meets a remote member's transient error", async () => {
    for (const nest of [false, true]) {
      const r = new AtomicBudget(10, { leakBackstop: false });
      const b = new AtomicBudget(10, { leakBackstop: false });
      const both = allOf({ r: remoteGuard(r, { rejectFirstRelease: true }), b });
      const c = coordinator({ dim: nest ? anyOf([both]) : both });
      const boom = new Error('provider down');
      await expect(
        c.run({ dim: 4 }, async () => {
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect([r.available(), b.available()]).toEqual([10, 10]);
    }
  });

  it('is released on retry through a waiting line, and wakes it', async () => {
    const a = flaky(10, 'releaseSync');
    const b = new AtomicBudget(10);
    const line = waiting(allOf({ a, b }));
    const first = line.tryAcquireSync(10) as SyncBudgetPermit;
    const next = line.acquire(4);
    expect(() => first.releaseSync()).toThrow();
    expect(first.releaseSync()).toBe(true);
    const granted = await next;
    expect([a.available(), b.available()]).toEqual([6, 6]);
    // Every permit of `a` fails once: this one too, and its retry returns the rest.
    expect(() => granted.releaseSync()).toThrow();
    expect(granted.releaseSync()).toBe(true);
    expect([a.available(), b.available()]).toEqual([10, 10]);
  });
});

describe('an any-of count release over an all-of whose member fails', () => {
  /** Makes the next count release of `budget` throw once. */
  function armRelease(budget: AtomicBudget): () => void {
    const real = budget.releaseSync.bind(budget);
    let armed = false;
    budget.releaseSync = (cost: number) => {
      if (armed) {
        armed = false;
        throw new Error('release failed');
      }
      real(cost);
    };
    return () => {
      armed = true;
    };
  }

  it('drops the reservation the all-of counted as done, so its held() agrees and nothing is returned twice', () => {
    for (const capacity of [10, 20]) {
      const f = new AtomicBudget(capacity, { leakBackstop: false });
      const b = new AtomicBudget(10, { leakBackstop: false });
      const arm = armRelease(f);
      const inner = allOf({ f, b });
      const pool = anyOf([inner]);
      expect(pool.tryReserveSync(3)).toBe(true);
      expect(pool.tryReserveSync(3)).toBe(true);
      arm();
      expect(() => pool.releaseSync(3)).toThrow();
      // The all-of gave b its 3 back and counts the release done; f kept its share.
      expect([inner.held(), pool.held()]).toEqual([3, 3]);
      expect([f.available(), b.available()]).toEqual([capacity - 6, 7]);
      pool.releaseSync(3); // the other reservation
      expect([pool.held(), pool.overReleased(), b.available()]).toEqual([0, 0, 10]);
      f.releaseSync(3); // the failed share, on the member directly, as allOf documents
      expect(f.available()).toBe(capacity);
    }
  });

  it('keeps a reservation whose member returned nothing, for a retry', () => {
    const f = new AtomicBudget(10, { leakBackstop: false });
    const arm = armRelease(f);
    const pool = anyOf([f]);
    expect(pool.tryReserveSync(3)).toBe(true);
    arm();
    expect(() => pool.releaseSync(3)).toThrow();
    expect(pool.held()).toBe(3);
    pool.releaseSync(3);
    expect([pool.held(), f.available()]).toEqual([0, 10]);
  });
});
