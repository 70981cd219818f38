// acquire() across three threads with aborts and timeouts racing wake-ups: the line and the
// units come out exact, and both workers exit after closing their handles. (This was once kept
// out of the suite as a worker that "never exits": the test listened for the first worker's
// exit only after the second had replied, and missed it. spawn.ts now listens from the start.)
import { SharedBudget } from '@budgetry/core';
import { expect, it } from 'vitest';
import { exited, firstMessage, startWorker } from '../shared/spawn.js';

it('aborts and timeouts racing wake-ups across threads leave the line and the units exact', async () => {
  const budget = new SharedBudget(3, { maxWaiters: 4096 });
  const workers = [1, 2].map((i) =>
    startWorker('../shared-review/acquire-churn-worker.ts', {
      descriptor: budget.share(),
      n: 1500,
      seed: i * 7919 + Date.now(),
    }),
  );
  for (const w of workers) budget.releaseOnExit(w);
  const tallies = await Promise.all(workers.map((w) => firstMessage<Record<string, number>>(w)));
  const exit = await Promise.race([
    Promise.all(workers.map(exited)).then(() => 'exited'),
    new Promise((r) => setTimeout(() => r('still running 20 s after closing'), 20_000)),
  ]);
  if (exit !== 'exited') for (const w of workers) await w.terminate();
  expect(exit).toBe('exited');
  for (const t of tallies) {
    expect(Object.keys(t).every((k) => ['granted', 'ABORTED', 'TIMEOUT'].includes(k))).toBe(true);
    expect(t.granted).toBeGreaterThan(0);
  }
  expect(budget.snapshot()).toMatchObject({
    available: 3,
    held: 0,
    waiting: 0,
    handles: 1,
    reclaimed: 0,
  });
  budget.close();
}, 120_000);
