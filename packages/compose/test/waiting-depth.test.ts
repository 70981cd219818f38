// The waiting line at depth, where an array's shift and splice, a sorted array of priorities
// or a listener per waiter on a shared signal would each make it quadratic: the order of
// service and of giving up with tens of thousands waiting, and what the line keeps for them.
import { getEventListeners } from 'node:events';
import { AtomicBudget, type SyncBudgetPermit } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { waiting } from '../src/waiting/waiter-queue.js';
import { flush } from './helpers/waiting-outcome.js';

/** The per-priority rings of a line (private, read for the memory checks). */
function rings(line: object): { priority: number; slots: number; live: number }[] {
  const inner = (line as { line: { buckets: Map<number, { items: unknown[]; live: number }> } })
    .line;
  return [...inner.buckets.entries()].map(([priority, b]) => ({
    priority,
    slots: b.items.length,
    live: b.live,
  }));
}

describe('the waiting line at depth', () => {
  it('serves 20 000 distinct priorities, joined in any order, highest first', async () => {
    const n = 20_000;
    const priorities = fc.sample(fc.shuffledSubarray([...Array(n).keys()], { minLength: n }), {
      numRuns: 1,
      seed: 7,
    })[0]!;
    const line = waiting(new AtomicBudget(1, { leakBackstop: false }));
    const holder = await line.acquire(1);
    const served: number[] = [];
    const all = priorities.map((priority, i) =>
      // Every third may leave, so buckets are records as well as plain resolvers.
      line
        .acquire(1, i % 3 === 0 ? { priority, timeoutMs: 60_000 } : { priority })
        .then((permit) => {
          served.push(priority);
          permit.releaseSync(); // the next one is served at once
        }),
    );
    expect(line.pending).toBe(n);
    holder.releaseSync();
    await Promise.all(all);
    expect(served).toEqual([...priorities].sort((a, b) => b - a));
    expect(line.pending).toBe(0);
  });

  it('keeps one abort listener for 20 000 waiters sharing a signal, and all of them give up', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const line = waiting(new AtomicBudget(2, { leakBackstop: false }));
      const holder = await line.acquire(2);
      const shared = new AbortController();
      const other = new AbortController();
      const rejected: number[] = [];
      const granted: number[] = [];
      const all: Promise<void>[] = [];
      for (let i = 0; i < 20_000; i++) {
        // Every tenth on a signal of its own, the rest on the shared one.
        const signal = i % 10 === 9 ? other.signal : shared.signal;
        all.push(
          line.acquire(1, { signal, priority: i % 2 }).then(
            (permit) => {
              granted.push(i);
              permit.releaseSync();
            },
            () => {
              rejected.push(i);
            },
          ),
        );
      }
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
      expect(getEventListeners(other.signal, 'abort')).toHaveLength(1);
      shared.abort();
      await flush();
      // Every one that shared the signal, each once (the order mixes arrival, for those that
      // were not at the head, and line order, for heads the line found aborted as it served).
      const sharing = [...Array(20_000).keys()].filter((i) => i % 10 !== 9);
      expect(rejected.sort((a, b) => a - b)).toEqual(sharing);
      expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
      expect(line.pending).toBe(2_000);
      holder.releaseSync();
      await Promise.all(all);
      // The rest are served: priority 1 first, each priority in arrival order.
      const rest = [...Array(20_000).keys()].filter((i) => i % 10 === 9);
      expect(granted).toEqual([
        ...rest.filter((i) => i % 2 === 1),
        ...rest.filter((i) => i % 2 === 0),
      ]);
      expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
      await flush();
      expect(warnings.map((w) => w.name)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('gives up from anywhere in a line of 50 000 and serves the rest in order', async () => {
    const n = 50_000;
    const line = waiting(new AtomicBudget(1, { leakBackstop: false }));
    const holder = await line.acquire(1);
    const controllers: AbortController[] = [];
    const served: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const c = new AbortController();
      controllers.push(c);
      all.push(
        line.acquire(1, { signal: c.signal }).then(
          (permit) => {
            served.push(i);
            permit.releaseSync();
          },
          () => {},
        ),
      );
    }
    // From the back, the middle and the front: all but every seventh leave.
    const leaving = [...Array(n).keys()].filter((i) => i % 7 !== 0);
    const order = fc.sample(fc.shuffledSubarray(leaving, { minLength: leaving.length }), {
      numRuns: 1,
      seed: 3,
    })[0]!;
    for (const i of order) controllers[i]!.abort();
    expect(line.pending).toBe(n - leaving.length);
    holder.releaseSync();
    await Promise.all(all);
    expect(served).toEqual([...Array(n).keys()].filter((i) => i % 7 === 0));
  });

  it('lets a ring that held 50 000 shrink as the line is served down', async () => {
    const line = waiting(new AtomicBudget(1, { leakBackstop: false }));
    let held: SyncBudgetPermit = await line.acquire(1);
    const waiters = Array.from({ length: 50_000 }, () => line.acquire(1));
    expect(rings(line)[0]!.slots).toBeGreaterThanOrEqual(2 * 50_000);
    for (let i = 0; i < 50_000 - 10; i++) {
      held.releaseSync();
      held = await waiters[i]!;
    }
    expect(line.pending).toBe(10);
    // A ring at most a quarter full is halved: 10 waiters fit in one of 64 or fewer.
    const [ring] = rings(line);
    expect(ring!.live).toBe(10);
    expect(ring!.slots).toBeLessThanOrEqual(2 * 64);
    line.close();
    await Promise.allSettled(waiters);
  });
});
