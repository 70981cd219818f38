import { AtomicBudget, BudgetError, type SyncBudgetGuard, tokenBucket } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { waiting } from '../src/index.js';
import { TestClock } from './helpers/test-clock.js';
import { flush, outcome } from './helpers/waiting-outcome.js';

type Method = 'tryAcquireSync' | 'retryAfterMs' | 'subscribe';

/** A guard over `inner` whose `method` throws on the calls listed in `failOn` (1-based). */
function flaky(inner: SyncBudgetGuard, method: Method, failOn: number[]): SyncBudgetGuard {
  let calls = 0;
  const fail = (): boolean => failOn.includes(++calls);
  const retryAfterMs = (inner as { retryAfterMs?: (cost: number) => number | undefined })
    .retryAfterMs;
  const guard = {
    capabilities: (inner as { capabilities?: unknown }).capabilities,
    get capacity() {
      return inner.capacity;
    },
    available: () => inner.available(),
    tryAcquireSync(cost: number) {
      if (method === 'tryAcquireSync' && fail()) throw new Error('tryAcquireSync failed');
      return inner.tryAcquireSync(cost);
    },
    tryReserveSync: (cost: number) => inner.tryReserveSync(cost),
    releaseSync: (cost: number) => inner.releaseSync(cost),
    tryAcquire: (cost: number) => inner.tryAcquire(cost),
    tryReserve: (cost: number) => inner.tryReserve(cost),
    release: (cost: number) => inner.release(cost),
    retryAfterMs(cost: number) {
      if (method === 'retryAfterMs' && fail()) throw new Error('retryAfterMs failed');
      return retryAfterMs?.call(inner, cost);
    },
  };
  const subscribe = (inner as { subscribe?: (l: (event?: unknown) => void) => () => void })
    .subscribe;
  if (typeof subscribe === 'function') {
    Object.assign(guard, {
      subscribe(listener: (event?: unknown) => void) {
        if (method === 'subscribe' && fail()) throw new Error('subscribe failed');
        return subscribe.call(inner, listener);
      },
    });
  }
  return guard as unknown as SyncBudgetGuard;
}

describe('waiting: a guard that fails while serving the line', () => {
  it('rejects the waiter it failed for, out of line, so no units are later granted to nobody', async () => {
    const b = new AtomicBudget(1, { leakBackstop: false });
    const held = b.tryAcquireSync(1)!;
    // 1st call: the fast path (denied); 2nd: serving the line as the waiter joins it.
    const line = waiting(flaky(b, 'tryAcquireSync', [2]));
    const got = outcome(line.acquire(1));
    await flush();
    expect(got.now()).toBe('BACKEND');
    expect(line.pending).toBe(0);
    held.releaseSync();
    line.notify();
    expect(b.available()).toBe(1); // not granted to the caller that was told it failed
  });

  it('keeps its error as the cause of the BACKEND rejection', async () => {
    const b = new AtomicBudget(1);
    b.tryAcquireSync(1);
    const line = waiting(flaky(b, 'tryAcquireSync', [2]));
    const error = await line.acquire(1).catch((e: unknown) => e);
    expect(BudgetError.isInstance(error) && (error.cause as Error).message).toBe(
      'tryAcquireSync failed',
    );
  });

  it('does not strand the waiters behind the one it failed for', async () => {
    const b = new AtomicBudget(2, { leakBackstop: false });
    const p = b.tryAcquireSync(2)!;
    // Calls: 1 fast path, 2 and 3 as each joins (the first is tried, denied), then the
    // release serves the line: 4 fails for the first waiter, 5 serves the second.
    const line = waiting(flaky(b, 'tryAcquireSync', [4]));
    const first = outcome(line.acquire(1));
    const second = outcome(line.acquire(1));
    expect(line.pending).toBe(2);
    expect(() => p.releaseSync()).not.toThrow();
    await flush();
    expect([first.now(), second.now()]).toEqual(['BACKEND', 'granted 1']);
    expect(line.pending).toBe(0);
    expect(b.available()).toBe(1);
  });

  it('never throws out of its wake-up timer: the error goes to the waiter', async () => {
    const clock = new TestClock(0);
    const bucket = tokenBucket({ burst: 1, rate: 1, per: 10, clock });
    bucket.tryReserveSync(1);
    // 1 fast path, 2 joining (denied: a wake-up timer is armed), 3 from the timer: fails.
    const line = waiting(flaky(bucket, 'tryAcquireSync', [3]), { clock });
    const got = outcome(line.acquire(1));
    expect(clock.pending()).toBe(1);
    expect(() => clock.advance(10)).not.toThrow();
    await flush();
    expect(got.now()).toBe('BACKEND');
    expect(line.pending).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('rejects a waiter whose retry hint throws instead of leaving it in line without a wake-up', async () => {
    const clock = new TestClock(0);
    const bucket = tokenBucket({ burst: 1, rate: 1, per: 10, clock });
    bucket.tryReserveSync(1);
    const line = waiting(flaky(bucket, 'retryAfterMs', [1]), { clock });
    const got = outcome(line.acquire(1));
    await flush();
    expect(got.now()).toBe('BACKEND');
    expect(line.pending).toBe(0);
    clock.advance(10);
    expect(bucket.available()).toBe(1); // nobody took the token
  });

  it('leaves no timer, abort listener or subscription when joining the line fails', async () => {
    const clock = new TestClock(0);
    const b = new AtomicBudget(1, { leakBackstop: false });
    b.tryReserveSync(1);
    const line = waiting(flaky(b, 'subscribe', [1]), { clock });
    const controller = new AbortController();
    const got = outcome(line.acquire(1, { timeoutMs: 50, signal: controller.signal }));
    await flush();
    expect(got.now()).toBe('BACKEND');
    expect(line.pending).toBe(0);
    expect(clock.pending()).toBe(0); // the timeout timer was cancelled
    // The next waiter subscribes and is served as usual.
    const next = outcome(line.acquire(1));
    b.releaseSync(1);
    await flush();
    expect(next.now()).toBe('granted 1');
  });
});

describe('waiting: hand-overs that fail', () => {
  it('rejects the caller when releasing a permit aborted at delivery fails, instead of throwing from a microtask', async () => {
    const b = new AtomicBudget(1, { leakBackstop: false });
    const inner = b.tryAcquireSync(1)!;
    let failRelease = false;
    const guard = flaky(b, 'tryAcquireSync', []);
    const acquire = guard.tryAcquireSync.bind(guard);
    guard.tryAcquireSync = (cost: number) => {
      const p = acquire(cost);
      if (p === null) return null;
      const release = p.releaseSync.bind(p);
      p.releaseSync = () => {
        if (failRelease) throw new Error('release failed');
        return release();
      };
      return p;
    };
    const line = waiting(guard);
    const controller = new AbortController();
    const got = outcome(line.acquire(1, { signal: controller.signal }));
    failRelease = true;
    inner.releaseSync(); // the waiter is granted; its hand-over waits a microtask
    controller.abort(); // ... and the caller gives up in the same turn
    await flush();
    expect(got.now()).toBe('BACKEND');
  });

  it('gives back units granted to a waiter that gave up while the guard granted them, and serves the next', async () => {
    const controller = new AbortController();
    let abortOnReserve = false;
    const b = new AtomicBudget(1, {
      leakBackstop: false,
      observer: (event) => {
        if (event.type === 'reserve' && abortOnReserve) controller.abort();
      },
    });
    const held = b.tryAcquireSync(1)!;
    const line = waiting(b);
    const first = outcome(line.acquire(1, { signal: controller.signal }));
    const second = outcome(line.acquire(1));
    abortOnReserve = true;
    held.releaseSync(); // serving the first waiter aborts it from inside the guard
    abortOnReserve = false;
    await flush();
    expect([first.now(), second.now()]).toEqual(['ABORTED', 'granted 1']);
    expect(line.pending).toBe(0);
    expect(b.available()).toBe(0);
  });

  it('takes onError as a function only', () => {
    const code = (() => {
      try {
        waiting(new AtomicBudget(1), { onError: 'log' as unknown as () => void });
      } catch (error) {
        return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
      }
      return 'accepted';
    })();
    expect(code).toBe('INVALID_ARGUMENT');
  });
});
