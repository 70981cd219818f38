// Review 2: the lock-free count path across threads — a release made without the lock in
// one thread must wake a waiter or a watcher in another, and once the creator's close()
// returned, no count call of another thread may be granted.
import { SharedBudget } from '@budgetry/core';
import { expect, it } from 'vitest';
import { exited, firstMessage, startWorker } from '../shared/spawn.js';
import type { CountInput } from './fast2-count-worker.js';

const WORKER = '../shared-review/fast2-count-worker.ts';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function holder(budget: SharedBudget, units: number) {
  return startWorker(WORKER, {
    descriptor: budget.share() as never,
    mode: 'hold',
    units,
    shared: new SharedArrayBuffer(4),
    after: 0,
  } satisfies CountInput);
}

it('a waiter in one thread is woken by lock-free releases in another', async () => {
  const budget = new SharedBudget(10, { leakBackstop: false });
  const worker = holder(budget, 10);
  expect(await firstMessage(worker)).toEqual({ held: 10 });
  const started = Date.now();
  const permit = budget.acquire(10, { timeoutMs: 3_000 });
  const released = firstMessage(worker);
  worker.postMessage('release');
  expect(await released).toBe('released');
  const p = await permit;
  expect(Date.now() - started).toBeLessThan(2_000);
  p.releaseSync();
  worker.postMessage('close');
  await exited(worker);
  budget.close();
});

it('a watcher in one thread hears lock-free releases in another', async () => {
  const budget = new SharedBudget(10, { leakBackstop: false });
  const worker = holder(budget, 10);
  expect(await firstMessage(worker)).toEqual({ held: 10 });
  let heard = 0;
  const stop = budget.watchFreed(() => {
    heard++;
  });
  await sleep(20);
  const before = heard;
  const released = firstMessage(worker);
  worker.postMessage('release');
  expect(await released).toBe('released');
  for (let i = 0; i < 100 && heard === before; i++) await sleep(10);
  expect(heard).toBeGreaterThan(before);
  expect(budget.available()).toBe(10);
  stop();
  worker.postMessage('close');
  await exited(worker);
  budget.close();
});

it('no count call of another thread is granted once close() returned', async () => {
  for (let round = 0; round < 2; round++) {
    const budget = new SharedBudget(1_000_000, { leakBackstop: false });
    const shared = new SharedArrayBuffer(4);
    const workers = [0, 1].map(() =>
      startWorker(WORKER, {
        descriptor: budget.share() as never,
        mode: 'hammer',
        units: 0,
        shared,
        after: 5_000,
      } satisfies CountInput),
    );
    await Promise.all(workers.map((w) => firstMessage(w)));
    const results = workers.map((w) => firstMessage<Record<string, number>>(w));
    await sleep(30 + round * 10);
    budget.close();
    Atomics.store(new Int32Array(shared), 0, 1);
    for (const result of await Promise.all(results)) {
      expect(result).toMatchObject({ lateGrants: 0, otherErrors: 0 });
      // Every call that started after close() returned failed with CLOSED (a few before, too).
      expect(result.closedSeen).toBeGreaterThanOrEqual(5_000);
      expect(result.grants).toBeGreaterThan(0);
    }
    await Promise.all(workers.map(exited));
  }
});
