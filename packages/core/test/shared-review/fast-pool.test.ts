// Review: the lock-free count path across threads. Exactness when units reserved in one
// thread are released in another (strict: any over-release throws), and when workers are
// terminated at random moments while the others hammer on.
import type { Worker } from 'node:worker_threads';
import { SharedBudget } from '@budgetry/core';
import { expect, it } from 'vitest';
import { exited, firstMessage, startWorker } from '../shared/spawn.js';
import type { PoolInput } from './fast-pool-worker.js';

const CAPACITY = 1_000;
const SEED = Number(process.env.FAST_SEED ?? 1);
const LIVE = Number(process.env.FAST_LIVE ?? 5);
const ROUNDS = Number(process.env.FAST_ROUNDS ?? 8);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function messages(worker: Worker): unknown[] {
  const seen: unknown[] = [];
  worker.on('message', (m) => seen.push(m));
  return seen;
}

it('units reserved in one thread and released in another come back exactly (strict)', async () => {
  for (let round = 0; round < 3; round++) {
    const budget = new SharedBudget(CAPACITY, { strict: true, leaseMs: 60_000 });
    const shared = new SharedArrayBuffer(8);
    const words = new Int32Array(shared);
    const workers = [0, 1, 2, 3, 4].map((i) =>
      startWorker('../shared-review/fast-pool-worker.ts', {
        descriptor: budget.share() as never,
        seed: SEED * 1_000 + round * 10 + i,
        mode: 'pool',
        shared,
        maxCost: 8,
      } satisfies PoolInput),
    );
    const logs = workers.map(messages);
    await Promise.all(workers.map((w) => firstMessage(w)));
    for (let i = 0; i < 30; i++) {
      await sleep(20);
      // A permit and the main thread's own lock now and then, amid the lock-free calls.
      budget.tryAcquireSync(1)?.releaseSync();
    }
    Atomics.store(words, 0, 1);
    await sleep(50);
    while (logs.some((l) => l.length < 2)) await sleep(10);
    for (const log of logs) expect(log[1]).toMatchObject({ errors: 0 });
    const outstanding = Atomics.load(words, 1);
    expect(budget.snapshot()).toMatchObject({
      available: CAPACITY - outstanding,
      held: outstanding,
      overReleased: 0,
    });
    // Every unit still out is recorded on some lane: closing them all brings the budget back.
    for (const [i, w] of workers.entries()) {
      w.postMessage('close');
      while (logs[i]!.length < 3) await sleep(5);
      const s = budget.snapshot();
      expect(s.available, `after closing worker ${i}`).toBeLessThanOrEqual(CAPACITY);
      expect(s.held, `after closing worker ${i}`).toBeGreaterThanOrEqual(0);
    }
    expect(budget.snapshot()).toMatchObject({ available: CAPACITY, held: 0, overReleased: 0 });
    await Promise.all(workers.map((w) => w.terminate()));
    budget.close();
  }
}, 60_000);

it('workers terminated at random moments while others hammer give everything back', async () => {
  const budget = new SharedBudget(CAPACITY, { leaseMs: 60_000 });
  const shared = new SharedArrayBuffer(8);
  let seed = SEED * 7_919;
  const spawn = (): Worker => {
    const w = startWorker('../shared-review/fast-pool-worker.ts', {
      descriptor: budget.share() as never,
      seed: seed++,
      mode: 'own',
      shared,
      maxCost: 8,
    } satisfies PoolInput);
    budget.releaseOnExit(w);
    return w;
  };
  const live = Array.from({ length: LIVE }, spawn);
  await Promise.all(live.map((w) => firstMessage(w)));
  for (let i = 0; i < ROUNDS; i++) {
    const k = Math.floor(Math.random() * live.length);
    const victim = live[k]!;
    await sleep(Math.random() * 8);
    await victim.terminate();
    await exited(victim);
    live[k] = spawn();
    await firstMessage(live[k]!);
    const s = budget.snapshot();
    expect(s.available + s.held).toBe(CAPACITY);
  }
  await Promise.all(live.map((w) => w.terminate()));
  await sleep(20);
  const s = budget.snapshot();
  budget.close();
  expect(s).toMatchObject({ available: CAPACITY, held: 0, handles: 1, overReleased: 0 });
}, 300_000);
