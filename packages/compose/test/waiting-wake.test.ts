import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import { describe, expect, it, vi } from 'vitest';
import type { HierarchyEvent } from '../src/hierarchy/index.js';
import { allOf, anyOf, hierarchy, intervalRefill, tokenGuard, waiting } from '../src/index.js';
import { TestClock } from './helpers/test-clock.js';
import { flush, outcome } from './helpers/waiting-outcome.js';

async function warningsDuring(type: string, run: () => void): Promise<string[]> {
  const seen: string[] = [];
  const listener = (w: Error) => {
    if (w.name === type) seen.push(w.message);
  };
  process.on('warning', listener);
  try {
    run();
    await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

describe('a waiting line over hierarchy nodes wakes when units come back on the tree', () => {
  it("the root's timer refill wakes a waiter queued on a tenant", async () => {
    const clock = new TestClock();
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    const daily = intervalRefill(root, { intervalMs: 1_000, clock });
    const line = waiting(root.child('acme'), { clock });
    line.tryAcquireSync(10)!.commitSync(); // spent for this epoch
    const w = outcome(line.acquire(10));
    await flush();
    expect(w.now()).toBe('pending');
    clock.advance(1_000); // the timer refills the root: acme is empty again
    await flush();
    expect(w.now()).toBe('granted 10');
    expect(root.child('acme').available()).toBe(0);
    daily.close();
    line.close();
  });

  it('a release made directly on a sibling tenant wakes a waiter the root held back', async () => {
    const root = hierarchy({ capacity: 10, children: { capacity: 10 } });
    const a = root.child('a');
    const b = root.child('b');
    expect(b.tryReserveSync(10)).toBe(true); // the root is full
    const line = waiting(a);
    const w = outcome(line.acquire(4));
    await flush();
    expect(w.now()).toBe('pending');
    b.releaseSync(10); // directly on the sibling, not through the line
    await flush();
    expect(w.now()).toBe('granted 4');
    expect(line.pending).toBe(0);
    line.close();
  });

  it('a partial commit made directly on a node wakes the line', async () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    const acme = root.child('acme');
    const held = acme.tryAcquireSync(10)!; // not through the line
    const line = waiting(acme);
    const w = outcome(line.acquire(6));
    await flush();
    expect(w.now()).toBe('pending');
    held.commitSync(3); // 7 come back
    await flush();
    expect(w.now()).toBe('granted 6');
    line.close();
  });

  it('the line listens on the tree only while someone waits', async () => {
    const clock = new TestClock();
    const root = hierarchy({ capacity: 10, children: { capacity: 10 } });
    const a = root.child('a');
    a.tryReserveSync(8);
    const line = waiting(root.child('b'), { clock });
    const notify = vi.spyOn(line, 'notify');
    const w = outcome(line.acquire(5, { timeoutMs: 100 }));
    notify.mockClear();
    a.releaseSync(1); // 3 free on the root: not enough, but the line looked
    expect(notify).toHaveBeenCalledTimes(1);
    clock.advance(100);
    await flush();
    expect(w.now()).toBe('TIMEOUT');
    notify.mockClear();
    a.releaseSync(1);
    expect(notify).not.toHaveBeenCalled();
  });
});

describe('hierarchy subscribe', () => {
  it('reports refills with the epoch, and releases, commits and leaks with what came back', () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    const acme = root.child('acme');
    const events: HierarchyEvent[] = [];
    const stop = acme.subscribe((e) => events.push(e));
    acme.tryReserveSync(4);
    acme.releaseSync(4);
    acme.tryAcquireSync(5)!.commitSync(2);
    const old = root.child('bigco').tryAcquireSync(3)!;
    root.refill();
    old.releaseSync(); // fenced off: nothing comes back
    const path = ['acme'];
    // Its own reservations, and the whole tree's refunds and refills (bigco's reservation
    // charges neither acme nor anything below it: not told).
    expect(events).toEqual([
      { type: 'reserve', budget: undefined, cost: 4, available: 6, path },
      { type: 'release', budget: undefined, cost: 4, refunded: 4, available: 10, path },
      { type: 'reserve', budget: undefined, cost: 5, available: 5, path },
      { type: 'commit', budget: undefined, cost: 5, used: 2, refunded: 3, path },
      { type: 'refill', budget: undefined, epoch: 1, policy: 'reset', available: 100, path: [] },
      { type: 'release', budget: undefined, cost: 3, refunded: 0, available: 10, path: ['bigco'] },
    ]);
    stop();
  });

  it('reports a permit the leak backstop returned as its release, then a leak', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc).toBeDefined(); // the test project runs with --expose-gc
    if (gc === undefined) return;
    const root = hierarchy({ capacity: 10, children: { capacity: 5 } });
    const events: HierarchyEvent[] = [];
    root.subscribe((e) => events.push(e));
    (() => {
      root.child('a').tryAcquireSync(4);
    })();
    for (let i = 0; i < 10 && root.held() !== 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    const path = ['a'];
    expect(events).toEqual([
      { type: 'reserve', budget: undefined, cost: 4, available: 1, path },
      { type: 'release', budget: undefined, cost: 4, refunded: 4, available: 5, path },
      { type: 'leak', budget: undefined, amount: 4, refunded: 4, path },
    ]);
  });

  it('unsubscribing removes exactly that subscription, once', () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    let calls = 0;
    const listener = () => {
      calls++;
    };
    const first = root.subscribe(listener);
    const second = root.child('acme').subscribe(listener); // the same function, again
    root.refill();
    expect(calls).toBe(2);
    first();
    first(); // harmless: it does not remove the other subscription
    root.refill();
    expect(calls).toBe(3);
    second();
    root.refill();
    expect(calls).toBe(3);
  });

  it('a listener that throws stops neither the others nor the refill: a process warning', async () => {
    const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
    const acme = root.child('acme');
    acme.tryReserveSync(10);
    const told: number[] = [];
    root.subscribe(() => {
      throw new Error('metrics down');
    });
    root.subscribe((e) => {
      if (e.type === 'refill') told.push(e.epoch);
    });
    const warnings = await warningsDuring('BudgetryObserverWarning', () => root.refill());
    expect(told).toEqual([1]);
    expect(root.epoch).toBe(1);
    expect(acme.available()).toBe(10);
    expect(warnings).toEqual(['budgetry: a hierarchy listener threw: metrics down']);
  });

  it('refuses a listener that is not a function', () => {
    const root = hierarchy({ capacity: 1 });
    expect(() => root.subscribe(42 as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('a waiting line refuses at once a cost no combination can ever grant', () => {
  const tenants = () => {
    const root = hierarchy({ capacity: 5, children: { capacity: 10 } });
    return [root.child('a'), root.child('b')] as const;
  };

  it('any-of over oversubscribed tenants: the largest of their path capacities', async () => {
    const [a, b] = tenants();
    const line = waiting(anyOf([a, b]));
    const refused = outcome(line.acquire(8));
    await flush();
    expect(refused.now()).toBe('EXCEEDS_CAPACITY');
    expect(await line.acquire(5).then((p) => p.cost)).toBe(5);
    line.close();
  });

  it('any-of: a member with room beyond the tenants still lets the cost wait', async () => {
    const [a] = tenants();
    const line = waiting(anyOf([a, new AtomicBudget(20)]));
    expect(await line.acquire(15).then((p) => p.cost)).toBe(15);
    line.close();
  });

  it('all-of over oversubscribed tenants: the smallest of their path capacities', async () => {
    const [a, b] = tenants();
    const line = waiting(allOf([a, new AtomicBudget(100), b]));
    const refused = outcome(line.acquire(6));
    await flush();
    expect(refused.now()).toBe('EXCEEDS_CAPACITY');
    line.close();
  });

  it('all-of: a member with a fixed charge bounds nothing, unless the charge never fits', async () => {
    const [a] = tenants();
    const rows = allOf({ rows: a, tokens: new AtomicTokenBudget(100) }, { charge: { rows: 1 } });
    const line = waiting(rows);
    expect(await line.acquire(50).then((p) => p.cost)).toBe(50); // one row, 50 tokens
    line.close();

    const [, b] = tenants();
    const never = waiting(allOf({ b, c: new AtomicBudget(100) }, { charge: { b: 8 } }));
    const refused = outcome(never.acquire(1));
    await flush();
    expect(refused.now()).toBe('EXCEEDS_CAPACITY');
    expect(await never.acquire(0).then((p) => p.cost)).toBe(0); // charges nobody
    never.close();
  });

  it('through wrappers: waiting lines, token guards and scheduled views', async () => {
    const [a, b] = tenants();
    const nested = waiting(anyOf([waiting(a), waiting(b)]));
    const refused = outcome(nested.acquire(6));
    await flush();
    expect(refused.now()).toBe('EXCEEDS_CAPACITY');
    nested.close();

    const clock = new TestClock();
    const root = hierarchy({ capacity: 50, children: { capacity: 10 } });
    const daily = intervalRefill(root, { intervalMs: 1_000, clock });
    const tokens = tokenGuard(new AtomicTokenBudget(30));
    const both = waiting(allOf([daily, tokens]), { clock });
    const tooBig = outcome(both.acquire(31));
    await flush();
    expect(tooBig.now()).toBe('EXCEEDS_CAPACITY');
    expect(await both.acquire(30).then((p) => p.cost)).toBe(30);
    both.close();
    daily.close();
  });
});
