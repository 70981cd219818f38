// A hostile review of the waiting line's fast paths: plain waiters kept as their resolve,
// subscriptions dropped at the end of the microtask the line emptied in, bare AtomicBudget
// permits; plus what the review found and what held.
import {
  AtomicBudget,
  BudgetError,
  type BudgetEvent,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calendarRefill, intervalRefill, lazyRefill } from '../src/refill/index.js';
import { waiting } from '../src/waiting/waiter-queue.js';
import { TestClock } from './helpers/test-clock.js';
import { counted, flush, outcome } from './helpers/waiting-outcome.js';

async function withUnhandled(body: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const on = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', on);
  try {
    await body();
    await flush();
    await flush();
  } finally {
    process.off('unhandledRejection', on);
  }
  return unhandled;
}

/** Per-priority bucket arrays of the line (private, read for the memory checks). */
function buckets(line: object): { priority: number; items: unknown[]; live: number }[] {
  const inner = (line as { line: { buckets: Map<number, { items: unknown[]; live: number }> } })
    .line;
  return [...inner.buckets.entries()].map(([priority, b]) => ({
    priority,
    items: b.items,
    live: b.live,
  }));
}

describe('FIFO within a priority, plain and abortable mixed', () => {
  it('serves plain, abortable and timed waiters of one priority in arrival order', async () => {
    const clock = new TestClock();
    const budget = new AtomicBudget(1, { leakBackstop: false });
    const line = waiting(budget, { clock });
    let held = await line.acquire(1);
    const c = new AbortController();
    const order: string[] = [];
    const names = ['plain0', 'abort1', 'timed2', 'plain3', 'both4', 'plain5'];
    const ps = [
      line.acquire(1),
      line.acquire(1, { signal: c.signal }),
      line.acquire(1, { timeoutMs: 10_000 }),
      line.acquire(1),
      line.acquire(1, { signal: c.signal, timeoutMs: 10_000 }),
      line.acquire(1, { priority: 0 }),
    ];
    ps.forEach((p, i) => {
      void p.then((permit) => {
        order.push(names[i]!);
        held = permit;
      });
    });
    for (let i = 0; i < names.length; i++) {
      held.releaseSync();
      await flush();
    }
    expect(order).toEqual(names);
    held.releaseSync();
    expect(budget.available()).toBe(1);
    expect(clock.pending()).toBe(0);
  });

  it('a large head is not passed by smaller plain or abortable waiters behind it', async () => {
    const budget = new AtomicBudget(3, { leakBackstop: false });
    const line = waiting(budget);
    const a = await line.acquire(2);
    const big = outcome(line.acquire(3));
    const c = new AbortController();
    const small1 = outcome(line.acquire(1, { signal: c.signal }));
    const small2 = outcome(line.acquire(1));
    await flush();
    expect([big.now(), small1.now(), small2.now()]).toEqual(['pending', 'pending', 'pending']);
    a.releaseSync();
    await flush();
    expect([big.now(), small1.now(), small2.now()]).toEqual(['granted 3', 'pending', 'pending']);
    big.permit().releaseSync();
    await flush();
    expect([small1.now(), small2.now()]).toEqual(['granted 1', 'granted 1']);
  });

  it('higher priority first; -0 and 0 share a bucket and keep arrival order', async () => {
    const budget = new AtomicBudget(1, { leakBackstop: false });
    const line = waiting(budget);
    let held = await line.acquire(1);
    const order: string[] = [];
    const join = (name: string, priority: number, abortable: boolean) =>
      line
        .acquire(1, abortable ? { priority, signal: new AbortController().signal } : { priority })
        .then((p) => {
          order.push(name);
          held = p;
        });
    join('z0', 0, false);
    join('m1', -1, true);
    join('nz', -0, true);
    join('h5', 5, false);
    join('f', 1.5, false);
    join('h5b', 5, true);
    for (let i = 0; i < 6; i++) {
      held.releaseSync();
      await flush();
    }
    expect(order).toEqual(['h5', 'h5b', 'f', 'z0', 'nz', 'm1']);
  });
});

describe('a waiter leaving from the head', () => {
  it('aborted at the head: the plain waiter behind it is served if it fits', async () => {
    const budget = new AtomicBudget(3, { leakBackstop: false });
    const line = waiting(budget);
    const holder = await line.acquire(2);
    const c = new AbortController();
    const head = outcome(line.acquire(3, { signal: c.signal }));
    const next = outcome(line.acquire(1));
    await flush();
    expect([head.now(), next.now()]).toEqual(['pending', 'pending']);
    c.abort();
    await flush();
    expect([head.now(), next.now()]).toEqual(['ABORTED', 'granted 1']);
    expect(line.pending).toBe(0);
    holder.releaseSync();
    next.permit().releaseSync();
    expect(budget.available()).toBe(3);
  });

  it('timed out at the head: the waiter behind it is served if it fits', async () => {
    const clock = new TestClock();
    const budget = new AtomicBudget(3, { leakBackstop: false });
    const line = waiting(budget, { clock });
    await line.acquire(2);
    const head = outcome(line.acquire(3, { timeoutMs: 50 }));
    const next = outcome(line.acquire(1));
    clock.advance(50);
    await flush();
    expect([head.now(), next.now()]).toEqual(['TIMEOUT', 'granted 1']);
    expect(clock.pending()).toBe(0);
  });

  it('an abort listener registered before the line frees units: the aborted head is not served', async () => {
    const budget = new AtomicBudget(1, { leakBackstop: false });
    const line = waiting(budget);
    const holder = await line.acquire(1);
    const c = new AbortController();
    c.signal.addEventListener('abort', () => holder.releaseSync());
    const head = outcome(line.acquire(1, { signal: c.signal }));
    const next = outcome(line.acquire(1));
    c.abort();
    await flush();
    expect([head.now(), next.now()]).toEqual(['ABORTED', 'granted 1']);
    expect(budget.available()).toBe(0);
  });
});

describe('close()', () => {
  it('rejects plain, abortable and timed waiters with CLOSED, stops timers, drops subscriptions at once', async () => {
    const clock = new TestClock();
    const { budget, active } = counted(1);
    const line = waiting(budget, { clock });
    const holder = await line.acquire(1);
    const c = new AbortController();
    const ws = [
      outcome(line.acquire(1)),
      outcome(line.acquire(1, { signal: c.signal })),
      outcome(line.acquire(1, { timeoutMs: 100 })),
      outcome(line.acquire(1, { priority: 2 })),
      outcome(line.acquire(1, { priority: -2, signal: c.signal, timeoutMs: 5 })),
    ];
    expect(active()).toBe(1);
    const unhandled = await withUnhandled(async () => {
      line.close();
      expect(active()).toBe(0); // at once, not at the end of the microtask
      expect(clock.pending()).toBe(0);
      expect(line.pending).toBe(0);
      c.abort(); // no listener left
      holder.releaseSync(); // nothing granted after close
      await flush();
    });
    expect(unhandled).toEqual([]);
    expect(ws.map((w) => w.now())).toEqual(['CLOSED', 'CLOSED', 'CLOSED', 'CLOSED', 'CLOSED']);
    expect(budget.available()).toBe(1);
    expect(budget.held()).toBe(0);
    await expect(line.acquire(0)).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(line.acquire(1, { signal: c.signal })).rejects.toMatchObject({ code: 'CLOSED' });
    expect(active()).toBe(0);
  });

  it('close() from an observer while the line grants: the permit goes back, the head is CLOSED', async () => {
    let close = () => {};
    let armed = false;
    const budget = new AtomicBudget(1, {
      leakBackstop: false,
      observer: (e) => {
        if (armed && e.type === 'reserve') close();
      },
    });
    const line = waiting(budget);
    close = () => line.close();
    const holder = await line.acquire(1);
    const plain = outcome(line.acquire(1));
    const abortable = outcome(line.acquire(1, { signal: new AbortController().signal }));
    armed = true;
    const unhandled = await withUnhandled(async () => {
      holder.releaseSync();
      await flush();
    });
    expect(unhandled).toEqual([]);
    expect([plain.now(), abortable.now()]).toEqual(['CLOSED', 'CLOSED']);
    expect(budget.available()).toBe(1);
  });

  // leave() must not fail a head that close() already settled: resolve(Promise.reject(e)) on a
  // used resolve would leave that rejection unhandled.
  it('a guard that closes the line and then throws leaves no unhandled rejection', async () => {
    // A guard whose failure handler shuts the line down before the error propagates (e.g. a
    // backend circuit breaker): the plain head was already rejected with CLOSED by close().
    const inner = new AtomicBudget(1, { leakBackstop: false });
    let line: ReturnType<typeof waiting> | undefined;
    let fail = false;
    const guard: SyncBudgetGuard = Object.assign(Object.create(null), {
      capabilities: inner.capabilities,
      get capacity() {
        return inner.capacity;
      },
      available: () => inner.available(),
      tryAcquireSync(cost: number) {
        if (fail) {
          line!.close();
          throw new Error('backend down');
        }
        return inner.tryAcquireSync(cost);
      },
      tryReserveSync: (cost: number) => inner.tryReserveSync(cost),
      releaseSync: (cost: number) => inner.releaseSync(cost),
      tryAcquire: (cost: number) => inner.tryAcquire(cost),
      tryReserve: (cost: number) => inner.tryReserve(cost),
      release: (cost: number) => inner.release(cost),
    });
    line = waiting(guard);
    const holder = await line.acquire(1);
    const plain = outcome(line.acquire(1));
    fail = true;
    const unhandled = await withUnhandled(async () => {
      holder.releaseSync(); // notify → tryAcquireSync closes the line, then throws
      await flush();
    });
    expect(plain.now()).toBe('CLOSED');
    expect(unhandled).toEqual([]);
  });
});

describe('waking on releases made on the underlying AtomicBudget', () => {
  it('a count release and a permit taken directly on the budget wake the line', async () => {
    const budget = new AtomicBudget(2, { leakBackstop: false });
    const line = waiting(budget);
    expect(budget.tryReserveSync(1)).toBe(true);
    const direct = budget.tryAcquireSync(1)!;
    const w1 = outcome(line.acquire(1));
    const w2 = outcome(line.acquire(1, { signal: new AbortController().signal }));
    budget.releaseSync(1);
    await flush();
    expect([w1.now(), w2.now()]).toEqual(['granted 1', 'pending']);
    direct.releaseSync();
    await flush();
    expect(w2.now()).toBe('granted 1');
  });

  it('a reset refill of the budget wakes waiters; old-epoch releases then return nothing', async () => {
    const budget = new AtomicBudget(2, { leakBackstop: false, refillPolicy: 'reset' });
    const line = waiting(budget);
    const old = await line.acquire(2);
    const w1 = outcome(line.acquire(2));
    const w2 = outcome(line.acquire(1));
    budget.refill();
    await flush();
    expect([w1.now(), w2.now()]).toEqual(['granted 2', 'pending']);
    expect(old.releaseSync()).toBe(true); // fenced: refunds nothing
    await flush();
    expect(w2.now()).toBe('pending');
    expect(budget.available()).toBe(0);
    w1.permit().commitSync(1); // partial commit in the live epoch: 1 back
    await flush();
    expect(w2.now()).toBe('granted 1');
    expect(budget.held()).toBe(1);
  });

  it('a carry refill wakes only as far as what is still held allows', async () => {
    const budget = new AtomicBudget(3, { leakBackstop: false, refillPolicy: 'carry' });
    const line = waiting(budget);
    const a = await line.acquire(2);
    expect(budget.tryReserveSync(1)).toBe(true); // count API: spent until released
    const w = outcome(line.acquire(2));
    budget.refill(); // carry: 3 - 2 - 1 = 0
    await flush();
    expect(w.now()).toBe('pending');
    a.releaseSync();
    await flush();
    expect(w.now()).toBe('granted 2');
  });
});

describe("permits over an exact AtomicBudget (the budget's own)", () => {
  it('release, commit, partial commit and double settle, each waking correctly', async () => {
    const budget = new AtomicBudget(4, { leakBackstop: false });
    const line = waiting(budget);
    const p = await line.acquire(4);
    expect(p.constructor.name).not.toBe('WaitingPermit'); // handed out bare
    const w3 = outcome(line.acquire(3));
    const w1 = outcome(line.acquire(1));
    expect(p.commitSync(2)).toBe(true); // 2 back: not enough for the head (3)
    await flush();
    expect([w3.now(), w1.now()]).toEqual(['pending', 'pending']);
    expect(p.commitSync(0)).toBe(false); // settled once
    expect(p.releaseSync()).toBe(false);
    expect(budget.available()).toBe(2);
    const q = budget.tryAcquireSync(1)!; // taken on the raw budget: 1 left
    expect(q.releaseSync()).toBe(true); // 2 again: still short of 3
    await flush();
    expect([w3.now(), w1.now()]).toEqual(['pending', 'pending']);
    expect(budget.tryReserveSync(0)).toBe(true);
    budget.releaseSync(1); // 1 count unit was never held: over-release, clamped, still 2
    await flush();
    expect(budget.available()).toBe(2);
    expect([w3.now(), w1.now()]).toEqual(['pending', 'pending']);
    line.close();
  });

  it('commitSync(0) on a bare permit returns all units and wakes the head', async () => {
    const budget = new AtomicBudget(2, { leakBackstop: false });
    const line = waiting(budget);
    const p = await line.acquire(2);
    const w = outcome(line.acquire(2));
    expect(p.commitSync(0)).toBe(true);
    await flush();
    expect(w.now()).toBe('granted 2');
    expect(p.commitSync(0)).toBe(false);
    expect(p.releaseSync()).toBe(false);
    expect(() => w.permit().commitSync(3)).toThrow(BudgetError);
    expect(w.permit().state).toBe('held'); // a bad commit changes nothing
  });

  it('commitSync(cost) of a bare permit returns nothing and wakes nobody', async () => {
    const budget = new AtomicBudget(2, { leakBackstop: false });
    const line = waiting(budget);
    const p = await line.acquire(2);
    const w = outcome(line.acquire(1));
    expect(p.commitSync(2)).toBe(true);
    await flush();
    expect(w.now()).toBe('pending');
    expect(budget.available()).toBe(0);
    line.close();
  });

  it('a leaked bare permit from an old epoch refunds nothing and grants nothing', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc).toBeDefined();
    if (gc === undefined) return;
    const budget = new AtomicBudget(1);
    const line = waiting(budget);
    await (async () => {
      await line.acquire(1); // dropped
    })();
    const fresh = await (async () => {
      budget.refill(); // reset: the leaked permit is fenced off
      return line.acquire(1);
    })();
    const w = outcome(line.acquire(1));
    for (let i = 0; i < 20 && budget.leaks() === 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(budget.leaks()).toBe(1);
    await flush();
    expect(w.now()).toBe('pending');
    expect(budget.available()).toBe(0);
    fresh.releaseSync();
    await flush();
    expect(w.now()).toBe('granted 1');
  });

  it('a plain waiter whose caller dropped its Promise: the permit it was served leaks back', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) return;
    const budget = new AtomicBudget(1);
    const line = waiting(budget);
    const holder = await line.acquire(1);
    void line.acquire(1); // its caller is gone; the line keeps only its resolve
    const w = outcome(line.acquire(1));
    holder.releaseSync(); // serves the dropped caller
    for (let i = 0; i < 20 && w.now() === 'pending'; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(w.now()).toBe('granted 1');
    expect(budget.leaks()).toBe(1);
  });

  it('a leaked bare permit wakes waiters on two lines over the same budget', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc === undefined) return;
    const budget = new AtomicBudget(2);
    const a = waiting(budget);
    const b = waiting(budget);
    await (async () => {
      await a.acquire(2); // dropped
    })();
    const wa = outcome(a.acquire(1));
    const wb = outcome(b.acquire(1));
    for (let i = 0; i < 20 && (wa.now() === 'pending' || wb.now() === 'pending'); i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect([wa.now(), wb.now()]).toEqual(['granted 1', 'granted 1']);
    expect(budget.leaks()).toBe(1);
    expect(budget.available()).toBe(0);
  });

  it("a release of one line's permit wakes the other line; closing one leaves the other listening", async () => {
    const { budget, active } = counted(1);
    const a = waiting(budget);
    const b = waiting(budget);
    const p = await a.acquire(1);
    const wb = outcome(b.acquire(1));
    const wa = outcome(a.acquire(1));
    expect(active()).toBe(2);
    a.close();
    expect(active()).toBe(1);
    p.releaseSync();
    await flush();
    expect([wa.now(), wb.now()]).toEqual(['CLOSED', 'granted 1']);
    await flush();
    expect(active()).toBe(0);
  });

  it('a subclass keeps the wrapping permit: partial commit through it wakes the line', async () => {
    class Silent extends AtomicBudget {
      override subscribe(): () => void {
        return () => {};
      }
    }
    const budget = new Silent(3, { leakBackstop: false });
    const line = waiting(budget);
    const p = await line.acquire(3);
    expect(p.constructor.name).toBe('WaitingPermit');
    const w = outcome(line.acquire(2));
    expect(p.commitSync(1)).toBe(true);
    await flush();
    expect(w.now()).toBe('granted 2');
    expect(p.commitSync(0)).toBe(false);
  });
});

describe('refill schedulers and the line', () => {
  it('waiting(lazyRefill(budget)) wakes at the boundary through the retry hint', async () => {
    const clock = new TestClock(0);
    const budget = new AtomicBudget(2, { leakBackstop: false });
    const line = waiting(lazyRefill(budget, { intervalMs: 1_000, clock }), { clock });
    const p = await line.acquire(2);
    const w = outcome(line.acquire(2));
    const w2 = outcome(line.acquire(1, { signal: new AbortController().signal }));
    clock.advance(999);
    await flush();
    expect(w.now()).toBe('pending');
    clock.advance(1);
    await flush();
    expect([w.now(), w2.now()]).toEqual(['granted 2', 'pending']);
    expect(p.releaseSync()).toBe(true); // fenced by reset: nothing back
    await flush();
    expect(w2.now()).toBe('pending');
    clock.advance(1_000);
    await flush();
    expect(w2.now()).toBe('granted 1');
    line.close();
    expect(clock.pending()).toBe(0);
  });

  it('waiting(intervalRefill(budget)) wakes on the timer refill', async () => {
    const clock = new TestClock(0);
    const budget = new AtomicBudget(1, { leakBackstop: false });
    const refilling = intervalRefill(budget, { intervalMs: 100, clock });
    const line = waiting(refilling, { clock });
    await line.acquire(1);
    const w = outcome(line.acquire(1));
    clock.advance(100);
    await flush();
    expect(w.now()).toBe('granted 1');
    line.close();
    refilling.close();
  });

  it('waiting(calendarRefill(budget)) wakes at the boundary', async () => {
    const clock = new TestClock(Date.UTC(2026, 0, 1, 0, 0, 0));
    const budget = new AtomicBudget(1, { leakBackstop: false });
    const line = waiting(calendarRefill(budget, { unit: 'minute', clock }), { clock });
    await line.acquire(1);
    const w = outcome(line.acquire(1));
    clock.advance(59_999);
    await flush();
    expect(w.now()).toBe('pending');
    clock.advance(1);
    await flush();
    expect(w.now()).toBe('granted 1');
    line.close();
  });

  it('a line on the raw budget a lazy schedule follows wakes when the schedule catches up', async () => {
    const clock = new TestClock(0);
    const budget = new AtomicBudget(1, { leakBackstop: false });
    const scheduled = lazyRefill(budget, { intervalMs: 100, clock });
    const line = waiting(budget, { clock }); // exact AtomicBudget: bare permits
    await line.acquire(1);
    const w = outcome(line.acquire(1));
    clock.advance(100);
    // Catching up refills the budget; its refill event serves the waiter at once.
    expect(scheduled.available()).toBe(0);
    await flush();
    expect(w.now()).toBe('granted 1');
  });

  it('the reverse, a scheduler over a waiting line, is refused', () => {
    const line = waiting(new AtomicBudget(1));
    let error: unknown;
    try {
      lazyRefill(line as never, { intervalMs: 100 });
    } catch (e) {
      error = e;
    }
    expect(BudgetError.isInstance(error)).toBe(true);
  });
});

describe('a guard that throws', () => {
  it('rejects the head with BACKEND (plain and abortable) and goes on with the line', async () => {
    const inner = new AtomicBudget(1, { leakBackstop: false });
    let failures = 0;
    const guard = Object.assign(Object.create(null), {
      capabilities: inner.capabilities,
      get capacity() {
        return inner.capacity;
      },
      available: () => inner.available(),
      tryAcquireSync(cost: number) {
        if (failures > 0) {
          failures--;
          throw new Error('flaky');
        }
        return inner.tryAcquireSync(cost);
      },
      tryReserveSync: (cost: number) => inner.tryReserveSync(cost),
      releaseSync: (cost: number) => inner.releaseSync(cost),
      tryAcquire: (cost: number) => inner.tryAcquire(cost),
      tryReserve: (cost: number) => inner.tryReserve(cost),
      release: (cost: number) => inner.release(cost),
    }) as SyncBudgetGuard;
    const line = waiting(guard);
    const holder = await line.acquire(1);
    const a = outcome(line.acquire(1));
    const b = outcome(line.acquire(1, { signal: new AbortController().signal }));
    const c = outcome(line.acquire(1));
    failures = 2;
    const unhandled = await withUnhandled(async () => {
      holder.releaseSync();
      await flush();
    });
    expect(unhandled).toEqual([]);
    expect([a.now(), b.now(), c.now()]).toEqual(['BACKEND', 'BACKEND', 'granted 1']);
    expect(line.pending).toBe(0);
    expect(inner.available()).toBe(0);
  });
});

describe('emptying and refilling within one microtask', () => {
  it('no wake-up is lost: after any history, notify() never serves anyone new', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('join' as const),
              cost: fc.integer({ min: 0, max: 3 }),
              kind: fc.constantFrom('plain', 'abort', 'timed'),
              priority: fc.integer({ min: 0, max: 1 }),
            }),
            fc.record({ op: fc.constant('abort' as const), pick: fc.nat() }),
            fc.record({ op: fc.constant('settle' as const), pick: fc.nat(), how: fc.nat(3) }),
            fc.constant({ op: 'countTake' as const }),
            fc.constant({ op: 'countGive' as const }),
            fc.constant({ op: 'refill' as const }),
            fc.constant({ op: 'microtask' as const }),
            fc.constant({ op: 'flush' as const }),
          ),
          { maxLength: 40 },
        ),
        async (steps) => {
          const clock = new TestClock();
          const budget = new AtomicBudget(3, { leakBackstop: false });
          const line = waiting(budget, { clock });
          const held: SyncBudgetPermit[] = [];
          const controllers: AbortController[] = [];
          let counted = 0;
          const join = (cost: number, kind: string, priority: number) => {
            const c = kind === 'abort' ? new AbortController() : undefined;
            if (c) controllers.push(c);
            const opts =
              kind === 'plain'
                ? priority === 0
                  ? undefined
                  : { priority }
                : kind === 'abort'
                  ? { priority, signal: c!.signal }
                  : { priority, timeoutMs: 1_000_000 };
            line.acquire(cost, opts).then(
              (p) => held.push(p),
              () => {},
            );
          };
          for (const s of steps) {
            switch (s.op) {
              case 'join':
                join(s.cost, s.kind, s.priority);
                break;
              case 'abort': {
                const c = controllers[s.pick % Math.max(1, controllers.length)];
                c?.abort();
                break;
              }
              case 'settle': {
                if (held.length === 0) break;
                const [p] = held.splice(s.pick % held.length, 1);
                if (s.how === 0) p!.releaseSync();
                else if (s.how === 1) p!.commitSync(0);
                else if (s.how === 2) p!.commitSync(Math.floor(p!.cost / 2));
                else p!.commitSync();
                // and queue again at once, like a caller in a loop
                join(1, 'plain', 0);
                break;
              }
              case 'countTake':
                if (budget.tryReserveSync(1)) counted++;
                break;
              case 'countGive':
                if (counted > 0) {
                  budget.releaseSync(1);
                  counted--;
                }
                break;
              case 'refill':
                budget.refill();
                counted = 0;
                break;
              case 'microtask':
                await Promise.resolve();
                break;
              case 'flush':
                await flush();
                break;
            }
            // Between steps only a microtask passes: the subscription may be mid-drop.
            await Promise.resolve();
          }
          await flush();
          const before = line.pending;
          line.notify();
          expect(line.pending).toBe(before);
          line.close();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a line that empties, drops its subscription, and is joined again hears the next release', async () => {
    const { budget, active } = counted(1);
    const line = waiting(budget);
    const p = await line.acquire(1);
    const w = line.acquire(1);
    p.releaseSync(); // served: the line is empty
    const q = await w;
    await Promise.resolve();
    await Promise.resolve();
    expect(active()).toBe(0);
    const w2 = outcome(line.acquire(1));
    expect(active()).toBe(1);
    q.releaseSync();
    await flush();
    expect(w2.now()).toBe('granted 1');
  });

  it('a waiter that joins and aborts in the same turn the line emptied leaves nothing subscribed', async () => {
    const { budget, active } = counted(1);
    const line = waiting(budget);
    const p = await line.acquire(1);
    const w = outcome(line.acquire(1));
    p.releaseSync(); // line empties: drop queued
    const c = new AbortController();
    const x = outcome(line.acquire(1, { signal: c.signal })); // joins (kept subscription)
    c.abort(); // leaves: empty again
    await flush();
    expect([w.now(), x.now()]).toEqual(['granted 1', 'ABORTED']);
    expect(active()).toBe(0);
    expect(line.pending).toBe(0);
  });
});

describe('conservation under random histories, two lines, bare and wrapped permits', () => {
  it('never grants more than capacity, and every unit comes back', async () => {
    class Sub extends AtomicBudget {}
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('join' as const),
              which: fc.nat(1),
              cost: fc.integer({ min: 0, max: 3 }),
              abortable: fc.boolean(),
            }),
            fc.record({ op: fc.constant('abort' as const), pick: fc.nat() }),
            fc.record({ op: fc.constant('settle' as const), pick: fc.nat(), how: fc.nat(2) }),
            fc.constant({ op: 'direct' as const }),
            fc.constant({ op: 'microtask' as const }),
          ),
          { maxLength: 40 },
        ),
        async (subclass, steps) => {
          const budget = subclass
            ? new Sub(3, { leakBackstop: false })
            : new AtomicBudget(3, { leakBackstop: false });
          const lines = [waiting(budget), waiting(budget)];
          const held = new Set<SyncBudgetPermit>();
          const controllers: AbortController[] = [];
          const direct: SyncBudgetPermit[] = [];
          let spent = 0;
          const live = () => {
            let n = 0;
            for (const p of held) if (p.state === 'held') n += p.cost;
            for (const p of direct) if (p.state === 'held') n += p.cost;
            return n;
          };
          for (const s of steps) {
            if (s.op === 'join') {
              const c = s.abortable ? new AbortController() : undefined;
              if (c) controllers.push(c);
              lines[s.which]!.acquire(s.cost, c ? { signal: c.signal } : undefined).then(
                (p) => held.add(p),
                () => {},
              );
            } else if (s.op === 'abort') {
              controllers[s.pick % Math.max(1, controllers.length)]?.abort();
            } else if (s.op === 'settle') {
              const all = [...held].filter((p) => p.state === 'held');
              const p = all[s.pick % Math.max(1, all.length)];
              if (p !== undefined) {
                if (s.how === 0) p.releaseSync();
                else if (s.how === 1) p.commitSync(0);
                else {
                  p.commitSync(Math.floor(p.cost / 2));
                  spent += Math.floor(p.cost / 2);
                  expect(p.commitSync(0)).toBe(false);
                }
              }
            } else if (s.op === 'direct') {
              const p = budget.tryAcquireSync(1);
              if (p !== null) direct.push(p);
              else direct.shift()?.releaseSync();
            } else {
              await Promise.resolve();
            }
            await Promise.resolve();
            expect(live()).toBeLessThanOrEqual(3);
            expect(budget.available() + budget.held()).toBeLessThanOrEqual(3);
          }
          await flush();
          for (const l of lines) {
            const before = l.pending;
            l.notify();
            expect(l.pending).toBe(before);
          }
          for (const l of lines) l.close();
          await flush();
          for (const p of held) p.releaseSync();
          for (const p of direct) p.releaseSync();
          // Committed units are spent; everything else came back.
          expect(budget.held()).toBe(0);
          expect(budget.available()).toBe(3 - spent);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('an observer that frees units when the budget denies (load shedding)', () => {
  // The release re-enters notify() while the line is being served; it used to be dropped and
  // the loop stopped on the denial it already had: a lost wake-up.
  it('the units it frees during the denial serve the head', async () => {
    const victims: SyncBudgetPermit[] = [];
    let line: ReturnType<typeof waiting> | undefined;
    const budget = new AtomicBudget(1, {
      leakBackstop: false,
      observer: (e) => {
        if (e.type === 'deny' && line !== undefined && line.pending > 0)
          victims.pop()?.releaseSync();
      },
    });
    line = waiting(budget);
    victims.push(budget.tryAcquireSync(1)!); // a low-priority holder, shed on demand
    const w = outcome(line.acquire(1));
    await flush();
    expect(budget.available()).toBe(0);
    expect(w.now()).toBe('granted 1');
  });

  it('an observer that calls notify() on every denial without freeing anything ends the loop', async () => {
    let line: ReturnType<typeof waiting> | undefined;
    let denials = 0;
    const budget = new AtomicBudget(1, {
      leakBackstop: false,
      observer: (e) => {
        if (e.type !== 'deny') return;
        denials++;
        line?.notify();
      },
    });
    line = waiting(budget);
    const holder = budget.tryAcquireSync(1)!;
    const w = outcome(line.acquire(1));
    await flush();
    // The head is tried again once after a notify() during its denial, and then waits.
    expect(w.now()).toBe('pending');
    expect(denials).toBeLessThan(10);
    holder.releaseSync();
    await flush();
    expect(w.now()).toBe('granted 1');
  });
});

describe('costs', () => {
  it('a cost above capacity is refused at once, taking no subscription and touching nothing', async () => {
    const { budget, active } = counted(2);
    const line = waiting(budget);
    await expect(line.acquire(3)).rejects.toMatchObject({ code: 'EXCEEDS_CAPACITY' });
    await expect(line.acquire(3, { signal: new AbortController().signal })).rejects.toMatchObject({
      code: 'EXCEEDS_CAPACITY',
    });
    expect(active()).toBe(0);
    expect(line.pending).toBe(0);
    expect(budget.available()).toBe(2);
  });

  it('bad costs and options reject (never throw synchronously) before any state changes', async () => {
    const { budget, active } = counted(2);
    const line = waiting(budget);
    const bad: unknown[] = [-1, 1.5, Number.NaN, Infinity, '1', 2 ** 53, 1n, null, undefined, {}];
    for (const cost of bad) {
      let p: Promise<unknown> | undefined;
      expect(() => {
        p = line.acquire(cost as number);
      }).not.toThrow();
      await expect(p).rejects.toMatchObject({ code: 'INVALID_AMOUNT' });
    }
    for (const options of [null, 5, { priority: Number.NaN }, { timeoutMs: -1 }, { signal: {} }]) {
      await expect(line.acquire(1, options as never)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    expect(active()).toBe(0);
    expect(line.pending).toBe(0);
    expect(budget.available()).toBe(2);
  });

  it('a cost of 0 is granted at once, on an empty line and behind a blocked head alike', async () => {
    const budget = new AtomicBudget(1, { leakBackstop: false });
    const line = waiting(budget);
    const p = await line.acquire(1);
    const z = await line.acquire(0); // nobody in line: granted though the budget is exhausted
    expect(z.cost).toBe(0);
    const head = outcome(line.acquire(1));
    const zero = outcome(line.acquire(0)); // takes nothing, so it passes nobody
    await flush();
    expect([head.now(), zero.now()]).toEqual(['pending', 'granted 0']);
    p.releaseSync();
    await flush();
    expect([head.now(), budget.available()]).toEqual(['granted 1', 0]);
  });
});

describe('observers on the budget', () => {
  it('counts events of a contended line exactly; the own observer is called once per event', async () => {
    const events: BudgetEvent[] = [];
    const budget = new AtomicBudget(1, { leakBackstop: false, observer: (e) => events.push(e) });
    const line = waiting(budget);
    let p = await line.acquire(1);
    const ws = [line.acquire(1), line.acquire(1), line.acquire(1)];
    for (const w of ws) {
      p.releaseSync();
      p = await w;
    }
    p.releaseSync();
    await flush();
    const count = (t: string) => events.filter((e) => e.type === t).length;
    expect({
      reserve: count('reserve'),
      release: count('release'),
      deny: count('deny'),
      // Pinned as it is: the first join denies twice (fast path, then notify), each later
      // join re-tries the unchanged head (a deny each), each release but the last one more.
    }).toEqual({ reserve: 4, release: 4, deny: 6 });
    // The line listens no more: a direct reservation reports once.
    events.length = 0;
    budget.tryReserveSync(1);
    expect(events.length).toBe(1);
  });
});

describe('memory of the per-priority arrays', () => {
  // Holes behind a live head are passed only when the head moves; the line squeezes them out.
  it('a blocked head with waiters joining and giving up behind it does not grow the bucket', async () => {
    const budget = new AtomicBudget(1, { leakBackstop: false });
    const line = waiting(budget);
    await line.acquire(1); // held for the whole test
    void line.acquire(1).catch(() => {}); // a plain head, stuck
    for (let i = 0; i < 20_000; i++) {
      const c = new AbortController();
      void line.acquire(1, { signal: c.signal }).catch(() => {});
      c.abort();
    }
    expect(line.pending).toBe(1);
    const [b] = buckets(line);
    expect(b!.items.length).toBeLessThan(10_000);
    line.close();
  });

  it('timed-out waiters behind a blocked head do not grow the bucket either', async () => {
    const clock = new TestClock();
    const budget = new AtomicBudget(1, { leakBackstop: false });
    const line = waiting(budget, { clock });
    await line.acquire(1);
    void line.acquire(1).catch(() => {});
    for (let i = 0; i < 20_000; i++) {
      void line.acquire(1, { timeoutMs: 1 }).catch(() => {});
      clock.advance(1);
    }
    expect(line.pending).toBe(1);
    expect(buckets(line)[0]!.items.length).toBeLessThan(10_000);
    line.close();
  });

  it('a long history of one-in one-out (head served each time) stays bounded', async () => {
    const budget = new AtomicBudget(1, { leakBackstop: false });
    const line = waiting(budget);
    let held = await line.acquire(1);
    let next = line.acquire(1);
    for (let i = 0; i < 20_000; i++) {
      held.releaseSync();
      const again = line.acquire(1);
      held = await next;
      next = again;
    }
    next.catch(() => {});
    for (const b of buckets(line)) expect(b.items.length).toBeLessThanOrEqual(4_200);
    line.close();
  });

  it('many distinct priorities over time keep a bounded number of buckets', async () => {
    const budget = new AtomicBudget(1, { leakBackstop: false });
    const line = waiting(budget);
    let held = await line.acquire(1);
    for (let i = 0; i < 2_000; i++) {
      const a = line.acquire(1, { priority: i });
      const b = line.acquire(1, { priority: -i - 1 });
      held.releaseSync();
      held = await a;
      held.releaseSync();
      held = await b;
    }
    expect(buckets(line).length).toBeLessThanOrEqual(18);
    expect(line.pending).toBe(0);
    line.close();
  });
});
