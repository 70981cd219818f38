// A waiter is never left waiting while the guard could serve it: units freed through a
// waiting line nested inside another, units freed while the guard was denying the head, and a
// head that the guard can no longer ever grant (found by a hostile review; each case below
// stranded the line before).
import { AtomicBudget, type SyncBudgetGuard, type SyncBudgetPermit } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { allOf, hierarchy, waiting } from '../src/index.js';
import { TestClock } from './helpers/test-clock.js';
import { flush, outcome } from './helpers/waiting-outcome.js';

const exact = (capacity: number, options: ConstructorParameters<typeof AtomicBudget>[1] = {}) =>
  new AtomicBudget(capacity, { leakBackstop: false, ...options });

describe('a line nested in another wakes the outer one', () => {
  it('waiting(waiting(budget)): a release through the inner line serves the outer waiter', async () => {
    const budget = exact(1);
    const inner = waiting(budget);
    const outer = waiting(inner);
    const held = await inner.acquire(1);
    const w = outcome(outer.acquire(1));
    await flush();
    expect(w.now()).toBe('pending');
    held.releaseSync();
    await flush();
    expect(w.now()).toBe('granted 1');
    expect(budget.available()).toBe(0);
    w.permit().releaseSync();
    expect(budget.available()).toBe(1);
  });

  it('a waiting line as an allOf member: a release on its budget serves the outer waiter', async () => {
    const a = exact(2);
    const b = exact(2);
    const lineA = waiting(a);
    const both = waiting(allOf({ a: lineA, b }));
    const held = await lineA.acquire(2);
    const w = outcome(both.acquire(1));
    await flush();
    expect(w.now()).toBe('pending');
    held.releaseSync();
    await flush();
    expect(w.now()).toBe('granted 1');
    expect([a.available(), b.available()]).toEqual([1, 1]);
    w.permit().releaseSync();
    expect([a.available(), b.available()]).toEqual([2, 2]);
  });
});

describe('units freed while the guard denies the head are not lost', () => {
  it('an observer that sheds one unit per denial: the head is served once all are back', async () => {
    let shed = 0;
    const budget: AtomicBudget = exact(3, {
      observer: (event) => {
        if (event.type === 'deny' && shed > 0) {
          shed--;
          budget.releaseSync(1);
        }
      },
    });
    expect(budget.tryReserveSync(3)).toBe(true);
    shed = 3;
    const w = outcome(waiting(budget).acquire(3));
    await flush();
    expect(w.now()).toBe('granted 3');
    expect([budget.available(), shed]).toEqual([0, 0]);
  });

  it('allOf: its own rollback on each denial does not use up the retry units freed later need', async () => {
    // Every denial reserves a, is denied by b and gives a back (a release the line hears).
    // b's observer frees 3 units on the third denial: the line's second try of the head.
    let denials = 0;
    const a = exact(5);
    const b: AtomicBudget = exact(7, {
      observer: (event) => {
        if (event.type === 'deny' && ++denials === 3) b.releaseSync(3);
      },
    });
    expect(b.tryReserveSync(7)).toBe(true);
    const w = outcome(waiting(allOf({ a, b })).acquire(3));
    await flush();
    expect(w.now()).toBe('granted 3');
    expect([a.available(), b.available()]).toEqual([2, 0]);
  });

  it('allOf with nothing freed: the head is tried a bounded number of times, then waits', async () => {
    const a = exact(5);
    const b = exact(1);
    expect(b.tryReserveSync(1)).toBe(true);
    const members = allOf({ a, b });
    let tries = 0;
    const counting: SyncBudgetGuard = Object.assign(Object.create(members) as SyncBudgetGuard, {
      tryAcquireSync: (cost: number): SyncBudgetPermit | null => {
        tries++;
        return members.tryAcquireSync(cost);
      },
    });
    const w = outcome(waiting(counting).acquire(1));
    await flush();
    expect(w.now()).toBe('pending');
    expect(tries).toBeLessThanOrEqual(3);
    b.releaseSync(1);
    await flush();
    expect(w.now()).toBe('granted 1');
  });

  it('a guard that says it has room yet keeps denying is tried again later, not in a loop', async () => {
    const clock = new TestClock();
    const budget = exact(4);
    let line: ReturnType<typeof waiting> | undefined;
    let denials = 0;
    let grantFrom = Number.POSITIVE_INFINITY;
    const liar: SyncBudgetGuard = Object.assign(Object.create(budget) as SyncBudgetGuard, {
      tryAcquireSync: (cost: number): SyncBudgetPermit | null => {
        if (denials >= grantFrom) return budget.tryAcquireSync(cost);
        denials++;
        line?.notify(); // something frees "units" on every denial, re-entrantly
        return null;
      },
    });
    line = waiting(liar, { clock });
    const w = outcome(line.acquire(1));
    await flush();
    expect(w.now()).toBe('pending');
    const bounded = denials;
    expect(bounded).toBeGreaterThan(1);
    expect(bounded).toBeLessThan(50);
    grantFrom = denials;
    clock.advance(1);
    await flush();
    expect(w.now()).toBe('granted 1');
  });
});

describe('a head the guard can no longer ever grant leaves the line', () => {
  it("a tenant's capacity lowered under the head: it is refused, the waiter behind is served", async () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    const acme = root.child('acme');
    const line = waiting(acme);
    const held = acme.tryAcquireSync(3)!;
    const big = outcome(line.acquire(8));
    const small = outcome(line.acquire(1));
    await flush();
    expect([big.now(), small.now()]).toEqual(['pending', 'pending']);
    root.child('acme', { capacity: 4 });
    held.releaseSync();
    await flush();
    expect([big.now(), small.now()]).toEqual(['EXCEEDS_CAPACITY', 'granted 1']);
    expect([acme.available(), line.pending]).toEqual([3, 0]);
  });

  it("a tenant's capacity raised: notify() serves the waiter it now fits", async () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    const acme = root.child('acme');
    const line = waiting(acme);
    const held = acme.tryAcquireSync(10)!;
    const w = outcome(line.acquire(5));
    root.child('acme', { capacity: 20 });
    await flush();
    expect(w.now()).toBe('pending'); // a capacity change is no event: the docs say notify()
    line.notify();
    await flush();
    expect(w.now()).toBe('granted 5');
    held.releaseSync();
    w.permit().releaseSync();
    expect(acme.available()).toBe(20);
  });
});

describe('after close()', () => {
  it('acquire rejects with CLOSED; the calls that never wait still go to the guard', async () => {
    const budget = exact(2);
    const line = waiting(budget);
    const held = line.tryAcquireSync(2)!;
    const w = outcome(line.acquire(1));
    line.close();
    await flush();
    expect(w.now()).toBe('CLOSED');
    held.releaseSync();
    const late = outcome(line.acquire(1));
    await flush();
    expect(late.now()).toBe('CLOSED');
    expect(budget.available()).toBe(2);
    const direct = line.tryAcquireSync(1);
    expect(direct?.cost).toBe(1);
    expect(line.tryReserveSync(1)).toBe(true);
    expect(budget.available()).toBe(0);
    direct!.releaseSync();
    line.releaseSync(1);
    expect(budget.available()).toBe(2);
  });
});
