// Review: cross-thread waiting with workers terminated while they wait.
import { SharedBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { exited, firstMessage, startWorker } from '../shared/spawn.js';

describe('review: waiters in terminated workers', () => {
  it('a head waiter terminated in line does not block the next one (releaseOnExit)', async () => {
    const budget = new SharedBudget(5);
    const all = budget.tryAcquireSync(5)!;
    const w1 = startWorker('./wait-worker.ts', { descriptor: budget.share(), cost: 5 });
    budget.releaseOnExit(w1);
    await firstMessage(w1); // queued
    const w2 = startWorker('./wait-worker.ts', { descriptor: budget.share(), cost: 5 });
    budget.releaseOnExit(w2);
    let queued!: () => void;
    const q2 = new Promise<void>((r) => (queued = r));
    const got2 = new Promise<{ cost: number }>((resolve) => {
      let n = 0;
      w2.on('message', (m) => {
        if (++n === 2) resolve(m);
        else queued();
      });
    });
    await q2;
    expect(budget.snapshot().waiting).toBe(2);
    await w1.terminate();
    expect(budget.snapshot().waiting).toBe(1);
    all.releaseSync();
    expect((await got2).cost).toBe(5);
    w2.postMessage('release');
    await exited(w2);
    expect(budget.snapshot()).toMatchObject({ available: 5, held: 0, waiting: 0 });
    budget.close();
  }, 30_000);
});
