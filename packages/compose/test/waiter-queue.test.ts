import {
  AtomicBudget,
  AtomicTokenBudget,
  BudgetError,
  type SyncBudgetPermit,
  tokenBucket,
} from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOf } from '../src/all-of/all-of.js';
import { anyOf } from '../src/any-of/any-of.js';
import { hierarchy } from '../src/hierarchy/hierarchy.js';
import { intervalRefill } from '../src/refill/interval-refill.js';
import { lazyRefill } from '../src/refill/lazy-refill.js';
import { tokenGuard } from '../src/token-guard/token-guard.js';
import { waiting } from '../src/waiting/waiter-queue.js';
import { TestClock } from './helpers/test-clock.js';
import { flush } from './helpers/waiting-outcome.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : 'not a BudgetError';
  }
  return undefined;
}

describe('waiting', () => {
  it('serves first come, first served: a large request is not starved by small ones', async () => {
    const budget = new AtomicBudget(10);
    const line = waiting(budget);
    const first = await line.acquire(6);
    const order: string[] = [];
    const log = (name: string) => (p: SyncBudgetPermit) => {
      order.push(name);
      return p;
    };
    const big = line.acquire(8).then(log('big'));
    const small = line.acquire(1).then(log('small'));
    await flush();
    expect(order).toEqual([]); // 4 free: small would fit, but it is behind big
    expect(line.tryAcquireSync(1)).toBeNull(); // and nobody barges past the line
    first.releaseSync();
    await flush();
    expect(order).toEqual(['big', 'small']);
    (await big).releaseSync();
    (await small).releaseSync();
    expect(budget.available()).toBe(10);
  });

  it('serves higher priority first, equal priorities in arrival order', async () => {
    const budget = new AtomicBudget(1);
    const line = waiting(budget);
    const held = await line.acquire(1);
    const order: string[] = [];
    const names = [
      ['low', 0],
      ['high-1', 5],
      ['mid', 1],
      ['high-2', 5],
    ] as const;
    const all = names.map(([name, priority]) =>
      line.acquire(1, { priority }).then((p) => {
        order.push(name);
        p.releaseSync();
      }),
    );
    held.releaseSync();
    await Promise.all(all);
    expect(order).toEqual(['high-1', 'high-2', 'mid', 'low']);
  });

  it('leaves no trace when a waiter is aborted, and serves the one behind it', async () => {
    const budget = new AtomicBudget(5);
    const line = waiting(budget);
    const held = await line.acquire(4);
    const controller = new AbortController();
    const blocked = line.acquire(5, { signal: controller.signal });
    const behind = line.acquire(1);
    await flush();
    expect(line.pending).toBe(2);
    controller.abort(new Error('user left'));
    expect(await codeOf(blocked)).toBe('ABORTED');
    const p = await behind;
    expect(budget.available()).toBe(0);
    p.releaseSync();
    held.releaseSync();
    expect(budget.available()).toBe(5);
    expect(line.pending).toBe(0);
  });

  it('times out on the clock, untouched, and cancels its timer when served', async () => {
    const clock = new TestClock();
    const budget = new AtomicBudget(2);
    const line = waiting(budget, { clock });
    const held = await line.acquire(2);
    const late = line.acquire(1, { timeoutMs: 100 });
    clock.advance(99);
    await flush();
    expect(line.pending).toBe(1);
    clock.advance(1);
    expect(await codeOf(late)).toBe('TIMEOUT');
    const served = line.acquire(1, { timeoutMs: 100 });
    held.releaseSync();
    (await served).releaseSync();
    expect(clock.pending()).toBe(0);
    expect(budget.available()).toBe(2);
  });

  it('fails at once for a cost above capacity, an aborted signal, or bad input', async () => {
    const line = waiting(new AtomicBudget(3));
    expect(await codeOf(line.acquire(4))).toBe('EXCEEDS_CAPACITY');
    expect(await codeOf(line.acquire(1, { signal: AbortSignal.abort() }))).toBe('ABORTED');
    expect(await codeOf(line.acquire(-1))).toBe('INVALID_AMOUNT');
    expect(await codeOf(line.acquire(1, { timeoutMs: -1 }))).toBe('INVALID_ARGUMENT');
    expect(line.pending).toBe(0);
    expect(() => waiting({} as never)).toThrow(BudgetError);
  });

  it('wakes on a scheduled refill', async () => {
    const clock = new TestClock();
    const budget = intervalRefill({ capacity: 3 }, { intervalMs: 1_000, clock });
    const line = waiting(budget, { clock });
    (await line.acquire(3)).commitSync();
    let got: SyncBudgetPermit | undefined;
    void line.acquire(2).then((p) => {
      got = p;
    });
    clock.advance(999);
    await flush();
    expect(got).toBeUndefined();
    clock.advance(1);
    await flush();
    expect(got?.cost).toBe(2);
    budget.close();
  });

  it('wakes on a release made directly on the underlying core budget, not on a reservation', async () => {
    const budget = new AtomicBudget(4);
    const line = waiting(budget);
    expect(budget.tryReserveSync(4)).toBe(true); // taken around the line
    let got: SyncBudgetPermit | undefined;
    void line.acquire(3).then((p) => {
      got = p;
    });
    budget.releaseSync(2);
    await flush();
    expect(got).toBeUndefined(); // 2 free: not enough yet
    budget.releaseSync(1);
    await flush();
    expect(got?.cost).toBe(3);
    expect(budget.available()).toBe(0);
    line.close();
    budget.releaseSync(1); // closed: no longer subscribed, nothing to serve
    expect(budget.available()).toBe(1);
  });

  it('wakes exactly when a rate limiter says the request fits, without polling', async () => {
    const clock = new TestClock();
    const bucket = tokenBucket({ burst: 2, rate: 1, clock });
    const line = waiting(bucket, { clock });
    (await line.acquire(2)).commitSync();
    let got = false;
    void line.acquire(2).then(() => {
      got = true;
    });
    await flush();
    expect(clock.pending()).toBe(1); // one wake timer, not a poll loop
    clock.advance(1_999);
    await flush();
    expect(got).toBe(false);
    clock.advance(1);
    await flush();
    expect(got).toBe(true);
  });

  it('rejects waiters still in line with CLOSED on close', async () => {
    const clock = new TestClock();
    const line = waiting(new AtomicBudget(1), { clock });
    await line.acquire(1);
    const w = line.acquire(1, { timeoutMs: 1_000 });
    line.close();
    expect(await codeOf(w)).toBe('CLOSED');
    expect(clock.pending()).toBe(0);
    expect(await codeOf(line.acquire(1))).toBe('CLOSED');
  });
});

describe('waiting: interleavings', () => {
  it('grants in arrival order, and aborted waiters leave no trace', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.tuple(fc.nat(10), fc.nat(3)), { minLength: 1, maxLength: 10 }),
        async (s, capacity, ops) => {
          const budget = new AtomicBudget(capacity);
          const line = waiting(budget);
          const granted: number[] = [];
          const held: SyncBudgetPermit[] = [];
          const controllers: AbortController[] = [];
          const arrivals: number[] = [];
          const waits: Promise<unknown>[] = [];
          // Each op starts at a point the scheduler picks: acquire, then release or abort.
          const tasks = ops.map(([cost, action], i) =>
            s.schedule(Promise.resolve(`op${i}`)).then(() => {
              const c = new AbortController();
              controllers.push(c);
              arrivals.push(i);
              const w = line
                .acquire(Math.min(cost, capacity), { signal: c.signal })
                .then((p) => {
                  granted.push(i);
                  held.push(p);
                  if (action === 0) {
                    return s.schedule(Promise.resolve(`release${i}`)).then(() => p.releaseSync());
                  }
                  return undefined;
                })
                .catch((error: unknown) => {
                  expect(BudgetError.isInstance(error) && error.code).toBe('ABORTED');
                });
              waits.push(w);
              if (action === 1) {
                return s.schedule(Promise.resolve(`abort${i}`)).then(() => c.abort());
              }
              return undefined;
            }),
          );
          await s.waitFor(Promise.all(tasks));
          await s.waitIdle();
          // Units held are exactly the unreleased grants: aborts charged nothing.
          const live = held.filter((p) => p.state === 'held').reduce((a, p) => a + p.cost, 0);
          expect(budget.available()).toBe(capacity - live);
          for (const c of controllers) c.abort();
          await s.waitFor(Promise.all(waits));
          await s.waitIdle();
          for (const p of held) p.releaseSync();
          expect(budget.available()).toBe(capacity);
          expect(line.pending).toBe(0);
          // FIFO (one priority): grants happen in the order the acquires were issued, but for
          // cost 0, which takes nothing and is granted at once, past anyone in line.
          const queued = (i: number) => Math.min(ops[i]![0], capacity) > 0;
          expect(granted.filter(queued)).toEqual(
            arrivals.filter((i) => granted.includes(i) && queued(i)),
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('waiting: wake-ups and races', () => {
  it('wakes on usage recorded directly on an underlying token budget', async () => {
    const tokens = new AtomicTokenBudget(10);
    const line = waiting(tokens);
    const r = tokens.tryReserveTokensSync(10)!;
    let served = false;
    const p = line.acquire(5).then((permit) => {
      served = true;
      return permit;
    });
    tokens.recordUsageSync(r, 2, 0); // 8 come back, not through the line
    await flush();
    expect(served).toBe(true);
    (await p).releaseSync();
    expect(tokens.available()).toBe(8);
  });

  it('wakes on a release made directly on the budget under a refill scheduler', async () => {
    const clock = new TestClock();
    const budget = new AtomicBudget(10);
    const line = waiting(lazyRefill(budget, { intervalMs: 1_000, clock }), { clock });
    const held = budget.tryAcquireSync(10)!;
    let served = false;
    const p = line.acquire(5).then((permit) => {
      served = true;
      return permit;
    });
    held.releaseSync();
    await flush();
    expect(served).toBe(true);
    (await p).releaseSync();
    expect(budget.available()).toBe(10);
  });

  it('does not serve a waiter whose signal was aborted by a listener that freed units', async () => {
    const budget = new AtomicBudget(1);
    const line = waiting(budget);
    const held = budget.tryAcquireSync(1)!;
    const controller = new AbortController();
    // Registered before the waiter's own listener: it frees the unit first.
    controller.signal.addEventListener('abort', () => held.releaseSync());
    const p = line.acquire(1, { signal: controller.signal });
    controller.abort();
    expect(await codeOf(p)).toBe('ABORTED');
    expect(budget.available()).toBe(1);
    expect(line.pending).toBe(0);
  });

  it('releases a permit granted and aborted in the same turn, and rejects', async () => {
    const budget = new AtomicBudget(1);
    const line = waiting(budget);
    const held = budget.tryAcquireSync(1)!;
    const controller = new AbortController();
    const p = line.acquire(1, { signal: controller.signal });
    held.releaseSync(); // grants the waiter
    controller.abort(); // before the caller could see it
    expect(await codeOf(p)).toBe('ABORTED');
    expect(budget.available()).toBe(1);
    // The same holds for a grant that needed no waiting.
    const c2 = new AbortController();
    const p2 = line.acquire(1, { signal: c2.signal });
    c2.abort();
    expect(await codeOf(p2)).toBe('ABORTED');
    expect(budget.available()).toBe(1);
  });

  it('hands the permit over when the signal is still live at delivery', async () => {
    const budget = new AtomicBudget(1);
    const line = waiting(budget);
    const controller = new AbortController();
    const permit = await line.acquire(1, { signal: controller.signal });
    controller.abort(); // after the caller has it: the caller owns it
    expect(permit.state).toBe('held');
    permit.releaseSync();
    expect(budget.available()).toBe(1);
  });

  it('fails at once for a tenant cost above an ancestor’s capacity', async () => {
    const root = hierarchy({ capacity: 5, children: { capacity: 10 } });
    const line = waiting(root.child('acme'));
    expect(await codeOf(line.acquire(8, { timeoutMs: 1_000 }))).toBe('EXCEEDS_CAPACITY');
    expect(line.pending).toBe(0);
    expect(root.held()).toBe(0);
  });
});

describe('waiting: subscriptions', () => {
  it('listens on the budget only while someone waits, so dropped lines cost the budget nothing', async () => {
    const budget = new AtomicBudget(2);
    let active = 0;
    const subscribe = budget.subscribe.bind(budget);
    budget.subscribe = (listener) => {
      active++;
      const stop = subscribe(listener);
      return () => {
        active--;
        stop();
      };
    };
    // Thousands of idle lines, dropped without close(): nothing subscribed.
    for (let i = 0; i < 5_000; i++) waiting(budget).tryAcquireSync(0)?.releaseSync();
    expect(active).toBe(0);

    const line = waiting(budget);
    const held = budget.tryAcquireSync(2)!;
    const wait = line.acquire(1);
    expect(active).toBe(1); // a waiter: the line listens for a release
    held.releaseSync(); // a direct release on the budget wakes it
    const permit = await wait;
    expect(active).toBe(0); // served: the line stopped listening
    permit.releaseSync();

    const timedOut = budget.tryAcquireSync(2)!;
    await expect(line.acquire(1, { timeoutMs: 0 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(active).toBe(0); // given up: nobody waits
    timedOut.releaseSync();
  });
});

describe('waiting over a scheduled token budget', () => {
  it('wakes at the refill, and all-of and any-of denials from it say when to retry', async () => {
    const clock = new TestClock(0);
    const tpm = lazyRefill(new AtomicTokenBudget(10), { intervalMs: 1_000, clock });
    const guard = tokenGuard(tpm);
    const line = waiting(guard, { clock });
    const all = guard.tryAcquireSync(10)!;
    const wait = line.acquire(4);
    expect(line.pending).toBe(1);
    clock.advance(1_000); // a lazy schedule: only the line's own wake-up touches the budget
    const permit = await wait;
    expect(permit.cost).toBe(4);
    expect(tpm.available()).toBe(6);
    expect(all.state).toBe('held'); // fenced by the reset: releasing it now returns nothing

    const rows = new AtomicBudget(100);
    const gate = allOf({ rows, tokens: tokenGuard(tpm) });
    const denied = gate.tryAcquireEachSync({ rows: 1, tokens: 7 });
    expect(denied).toMatchObject({ ok: false, deniedBy: 'tokens', retryAfterMs: 1_000 });
    const either = anyOf([tokenGuard(tpm)]);
    expect(either.tryAcquireSync(7)).toBeNull();
  });
});
