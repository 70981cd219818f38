// Review: the lock is taken over from a live holder when heartbeats are stale, which they
// are in any thread running a synchronous loop; mutual exclusion is then lost.
import { SharedBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { exited, firstMessage, startWorker } from '../shared/spawn.js';

describe('review: lock take-over of a live holder', () => {
  it('3 workers with a short lease: reserve+release pairs add up and no live holder loses the lock', async () => {
    const capacity = 1_000_000;
    const budget = new SharedBudget(capacity, { leaseMs: 1_000 }); // the shortest lease allowed
    const gate = new SharedArrayBuffer(4);
    const workers = 3;
    const threads = Array.from({ length: workers }, () =>
      startWorker('../shared-review/pairs-worker.ts', {
        descriptor: budget.share(),
        ops: 1_000_000,
        gate,
        workers,
      }),
    );
    const reports = await Promise.all(
      threads.map((w) => firstMessage<{ granted: number; error?: string }>(w)),
    );
    const snapshot = budget.snapshot();
    for (const w of threads) w.postMessage('close');
    await Promise.all(threads.map(exited));
    expect(reports.map((r) => r.error)).toEqual([undefined, undefined, undefined]);
    // Every worker is alive throughout: no take-over may happen, and every pair nets to zero.
    expect({
      available: snapshot.available,
      held: snapshot.held,
      overReleased: snapshot.overReleased,
      lockTakeovers: snapshot.lockTakeovers,
    }).toEqual({ available: capacity, held: 0, overReleased: 0, lockTakeovers: 0 });
    budget.close();
  }, 120_000);
});
