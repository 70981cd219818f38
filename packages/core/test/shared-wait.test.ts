// Waiting on a SharedBudget: first come, first served within a priority, woken by releases
// through any handle, with abort and timeout; and across worker threads.
import { BudgetError, SharedBudget, type SyncBudgetPermit } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { closedAfterEach } from './shared/close-after-each.js';
import { ManualClock } from './shared/manual-clock.js';
import { exited, firstMessage, startWorker } from './shared/spawn.js';

const track = closedAfterEach<SharedBudget>();
const shared = (
  capacity: number,
  options: ConstructorParameters<typeof SharedBudget>[1] = {},
): SharedBudget => track(new SharedBudget(capacity, options));

/** Lets every pending wake-up run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 1));
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return BudgetError.isInstance(error) ? error.code : String(error);
  }
}

describe('SharedBudget.acquire in one thread', () => {
  it('serves waiters in order, woken by releases through another handle', async () => {
    const budget = shared(10);
    const other = SharedBudget.open(budget.share());
    const hold = other.tryAcquireSync(10)!;
    const served: string[] = [];
    const waits = ['a', 'b', 'c'].map((label, i) =>
      budget.acquire(3 + i).then((permit) => {
        served.push(label);
        return permit;
      }),
    );
    await settle();
    expect(served).toEqual([]);
    expect(budget.snapshot().waiting).toBe(3);
    hold.releaseSync();
    const [a, b] = await Promise.all(waits.slice(0, 2));
    await settle();
    expect(served).toEqual(['a', 'b']); // c (5) does not fit beside a (3) and b (4) yet
    a!.releaseSync();
    const c = await waits[2]!;
    expect(served).toEqual(['a', 'b', 'c']);
    expect([a!.cost, b!.cost, c.cost]).toEqual([3, 4, 5]);
    expect(budget.snapshot()).toMatchObject({ held: 9, waiting: 0 });
    other.close();
  });

  it('does not let a later, smaller waiter pass the head of its priority', async () => {
    const budget = shared(10);
    const hold = budget.tryAcquireSync(8)!;
    const order: number[] = [];
    const big = budget.acquire(5).then((p) => {
      order.push(5);
      return p;
    });
    await settle();
    const small = budget.acquire(2).then((p) => {
      order.push(2);
      return p;
    });
    await settle();
    expect(order).toEqual([]); // 2 would fit, but 5 is first in line
    hold.releaseSync();
    await Promise.all([big, small]);
    expect(order).toEqual([5, 2]);
  });

  it('serves a higher priority first', async () => {
    const budget = shared(4);
    const hold = budget.tryAcquireSync(4)!;
    const order: string[] = [];
    const low = budget.acquire(4).then((p) => {
      order.push('low');
      p.releaseSync();
    });
    await settle();
    const high = budget.acquire(4, { priority: 5 }).then((p) => {
      order.push('high');
      p.releaseSync();
    });
    await settle();
    hold.releaseSync();
    await Promise.all([low, high]);
    expect(order).toEqual(['high', 'low']);
  });

  it('an aborted or timed-out head leaves the line and the next is served', async () => {
    const clock = new ManualClock();
    const budget = shared(10, { clock });
    budget.tryReserveSync(7);
    const controller = new AbortController();
    const head = budget.acquire(9, { signal: controller.signal });
    const timed = budget.acquire(8, { timeoutMs: 50 });
    const next = budget.acquire(3);
    await settle();
    expect(budget.snapshot().waiting).toBe(3);
    controller.abort();
    clock.advance(50);
    expect(await codeOf(head)).toBe('ABORTED');
    expect(await codeOf(timed)).toBe('TIMEOUT');
    expect((await next).cost).toBe(3);
    expect(budget.snapshot()).toMatchObject({ waiting: 0, available: 0, held: 10 });
  });

  it('refuses what can never succeed, and bad options, at once', async () => {
    const budget = shared(10, { maxWaiters: 1 });
    expect(await codeOf(budget.acquire(11))).toBe('EXCEEDS_CAPACITY');
    expect(await codeOf(budget.acquire(-1))).toBe('INVALID_AMOUNT');
    expect(await codeOf(budget.acquire(1, { priority: Number.NaN }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(budget.acquire(1, { timeoutMs: -5 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(budget.acquire(1, { signal: AbortSignal.abort() }))).toBe('ABORTED');
    budget.tryReserveSync(10);
    const first = budget.acquire(1);
    expect(await codeOf(budget.acquire(1))).toBe('BACKEND'); // the one slot is taken
    budget.releaseSync(1);
    expect((await first).cost).toBe(1);
    expect(budget.snapshot()).toMatchObject({ held: 10, available: 0, waiting: 0 });
  });

  it('fails waiters when the creator closes the budget', async () => {
    const budget = new SharedBudget(1);
    const other = SharedBudget.open(budget.share());
    other.tryReserveSync(1);
    const waiting = other.acquire(1);
    await settle();
    budget.close();
    expect(await codeOf(waiting)).toBe('CLOSED');
    other.close();
  });
});

describe('SharedBudget.acquire across worker threads', () => {
  it('wakes a worker waiting in line when the main thread releases, first come first served', async () => {
    const budget = shared(6);
    const hold: SyncBudgetPermit = budget.tryAcquireSync(6)!;
    const first = startWorker('./wait-worker.ts', { descriptor: budget.share(), cost: 4 });
    await firstMessage(first); // in line
    const second = startWorker('./wait-worker.ts', { descriptor: budget.share(), cost: 4 });
    await firstMessage(second);
    expect(budget.snapshot().waiting).toBe(2);
    const replies = [first, second].map((w) => firstMessage<{ cost: number; at: number }>(w));
    hold.releaseSync();
    const [a] = await Promise.all([replies[0]]);
    expect(a?.cost).toBe(4);
    expect(budget.snapshot()).toMatchObject({ waiting: 1, held: 4 });
    first.postMessage('release'); // the first releases; only then does the second fit
    const b = await replies[1]!;
    expect(b.cost).toBe(4);
    second.postMessage('release');
    await Promise.all([exited(first), exited(second)]);
    expect(budget.snapshot()).toMatchObject({ available: 6, held: 0, waiting: 0 });
  });
});
