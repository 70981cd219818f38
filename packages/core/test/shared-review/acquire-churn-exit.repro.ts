// OPEN DEFECT, kept as a reproduction outside the test suite (its name does not end in
// .test.ts): acquire() across three threads with aborts and timeouts racing wake-ups. The
// accounting holds up, but a worker that used acquire() this way sometimes never exits after it
// posted its result and closed its handle — about 2 runs in 3 when another test file runs
// beside it, never alone; no timer runs in it any more. To run it, copy it to a name ending in
// .test.ts. See issue #12's notes.
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
  console.info(JSON.stringify(tallies));
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
