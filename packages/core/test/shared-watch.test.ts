// watchFreed: being told, in this thread, when units may have come free through any handle in
// any thread — what a waiting line over a shared budget needs and `subscribe` (this handle's
// own calls only) cannot give. The watcher count in the shared memory must come back to zero
// when listeners stop, when a handle closes and when a watching thread is terminated.
import {
  BudgetError,
  SharedBudget,
  SharedHierarchy,
  SharedTokenBudget,
  StripedSharedBudget,
} from '@budgetry/core';
import { describe, expect, it, vi } from 'vitest';
import { W_WATCHERS } from '../src/shared/layout.js';
import { closedAfterEach } from './shared/close-after-each.js';
import { ManualClock } from './shared/manual-clock.js';
import { exited, firstMessage, startWorker } from './shared/spawn.js';

const closeLater = closedAfterEach<{ close(): void }>();
const track = <B extends { close(): void }>(budget: B): B => {
  closeLater(budget);
  return budget;
};

/** Handles watching the budget behind `descriptor`, read from its shared memory. */
function watchers(descriptor: { buffer: SharedArrayBuffer }): number {
  return Atomics.load(new Int32Array(descriptor.buffer), W_WATCHERS);
}

/** Lets every pending wake-up run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('watchFreed in one thread', () => {
  it('hears releases, commits and refills made through another handle; not reservations', async () => {
    const clock = new ManualClock();
    const budget = track(new SharedBudget(10, { clock }));
    const other = track(SharedBudget.open(budget.share(), { clock }));
    const heard = vi.fn();
    const stop = budget.watchFreed(heard);
    expect(other.tryReserveSync(4)).toBe(true);
    const permit = other.tryAcquireSync(3)!;
    await settle();
    expect(heard).not.toHaveBeenCalled(); // taking units frees nothing
    other.releaseSync(4);
    await settle();
    expect(heard).toHaveBeenCalledTimes(1);
    permit.commitSync(1); // two units come back
    await settle();
    expect(heard).toHaveBeenCalledTimes(2);
    other.refill();
    await settle();
    expect(heard).toHaveBeenCalledTimes(3);
    stop();
    other.releaseSync(0);
    expect(other.tryReserveSync(2)).toBe(true);
    other.releaseSync(2);
    await settle();
    expect(heard).toHaveBeenCalledTimes(3); // stopped
  });

  it('counts a handle once in the shared memory, however many listeners it has', () => {
    const budget = track(new SharedBudget(10));
    const d = budget.share();
    expect(watchers(d)).toBe(0);
    const a = budget.watchFreed(() => {});
    const b = budget.watchFreed(() => {});
    const other = track(SharedBudget.open(d));
    const c = other.watchFreed(() => {});
    expect(watchers(d)).toBe(2);
    a();
    a(); // harmless twice
    expect(watchers(d)).toBe(2);
    b();
    expect(watchers(d)).toBe(1);
    c();
    expect(watchers(d)).toBe(0);
  });

  it('tells the listeners once more when the handle closes, then drops them', async () => {
    const budget = new SharedBudget(10);
    const other = track(SharedBudget.open(budget.share()));
    const heard = vi.fn();
    other.watchFreed(heard);
    const d = budget.share();
    other.close();
    expect(watchers(d)).toBe(0);
    await settle();
    expect(heard).toHaveBeenCalledTimes(1);
    budget.close();
  });

  it("hears the creator's close from another handle", async () => {
    const budget = new SharedBudget(10);
    const other = track(SharedBudget.open(budget.share()));
    const heard = vi.fn();
    other.watchFreed(heard);
    budget.close();
    await settle();
    expect(heard).toHaveBeenCalled();
    expect(() => other.tryReserveSync(1)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('works on every shared kind: token budgets, hierarchy nodes, striped handles', async () => {
    const tokens = track(new SharedTokenBudget(100));
    const otherTokens = track(SharedTokenBudget.open(tokens.share()));
    const tree = track(new SharedHierarchy({ capacity: 100, children: { capacity: 10 } }));
    const otherTree = track(SharedHierarchy.open(tree.share()));
    const pool = track(new SharedBudget(100));
    const striped = track(StripedSharedBudget.open(pool.share(), { slice: 4 }));
    const otherStriped = track(StripedSharedBudget.open(pool.share(), { slice: 4 }));
    const heard = { tokens: 0, node: 0, striped: 0 };
    tokens.watchFreed(() => heard.tokens++);
    tree.child('acme').watchFreed(() => heard.node++);
    striped.watchFreed(() => heard.striped++);

    const estimate = otherTokens.tryReserveTokensSync(50)!;
    otherTokens.recordUsageSync(estimate, 10, 10); // 30 tokens come back
    expect(otherTree.child('acme').tryReserveSync(5)).toBe(true);
    otherTree.child('acme').releaseSync(5);
    // A striped handle serves from its slice; units it gives back to the pool are freed.
    for (let i = 0; i < 20; i++) expect(otherStriped.tryReserveSync(1)).toBe(true);
    for (let i = 0; i < 20; i++) otherStriped.releaseSync(1);
    await settle();
    expect(heard.tokens).toBeGreaterThan(0);
    expect(heard.node).toBeGreaterThan(0);
    expect(heard.striped).toBeGreaterThan(0);
  });

  it('refuses a listener that is not a function, changing nothing', () => {
    const budget = track(new SharedBudget(10));
    expect(() => budget.watchFreed(42 as never)).toThrow(BudgetError);
    expect(() => budget.watchFreed(42 as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(watchers(budget.share())).toBe(0);
  });

  it('a listener that throws does not stop the others; its error becomes a warning', async () => {
    const budget = track(new SharedBudget(10));
    const other = track(SharedBudget.open(budget.share()));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const heard = vi.fn();
      budget.watchFreed(() => {
        throw new Error('boom');
      });
      budget.watchFreed(heard);
      expect(other.tryReserveSync(1)).toBe(true);
      other.releaseSync(1);
      await settle();
      expect(heard).toHaveBeenCalledTimes(1);
      expect(warnings.some((m) => m.includes('boom'))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('watchFreed across threads', () => {
  it('a worker hears a release made in the main thread', async () => {
    const budget = track(new SharedBudget(10));
    expect(budget.tryReserveSync(6)).toBe(true);
    const worker = startWorker('./watch-worker.ts', { descriptor: budget.share() });
    budget.releaseOnExit(worker);
    expect(await firstMessage(worker)).toEqual({ listening: true });
    expect(watchers(budget.share())).toBe(1);
    const heard = firstMessage<{ heard: number }>(worker);
    budget.releaseSync(6);
    expect(await heard).toEqual({ heard: 10 });
    await worker.terminate();
    await exited(worker);
  }, 10_000);

  it("a terminated watching worker's count comes back with its lane", async () => {
    const budget = track(new SharedBudget(10));
    const d = budget.share();
    const worker = startWorker('./watch-worker.ts', { descriptor: d });
    budget.releaseOnExit(worker);
    expect(await firstMessage(worker)).toEqual({ listening: true });
    expect(watchers(d)).toBe(1);
    await worker.terminate();
    await exited(worker);
    await settle();
    expect(budget.snapshot().reclaimedHandles).toBe(1);
    expect(watchers(d)).toBe(0);
  }, 10_000);
});
