// Review: plain and striped workers terminated at random points, 4 at a time, many rounds.
import { SharedBudget } from '@budgetry/core';
import { expect, it } from 'vitest';
import type { HammerInput } from '../shared/hammer-worker.js';
import { firstMessage, startWorker } from '../shared/spawn.js';

const CAPACITY = 300;
const ROUNDS = Number(process.env.REVIEW_ROUNDS ?? 4);

for (const policy of ['carry', 'reset'] as const) {
  it(`random termination of mixed plain/striped workers never tears or strands anything (${policy})`, async () => {
    const budget = new SharedBudget(CAPACITY, { leaseMs: 60_000, refillPolicy: policy });
    for (let round = 0; round < ROUNDS; round++) {
      const gate = new SharedArrayBuffer(4);
      const workers = [0, 1, 2, 3].map((i) =>
        startWorker('./hammer-worker.ts', {
          descriptor: budget.share() as never,
          seed: round * 31 + i + 1,
          ops: 0,
          mode: 'churn',
          refiller: false,
          gate,
          workers: 4,
          ...(i % 2 === 0 ? { slice: 1 + ((round + i) % 17) } : {}),
        } satisfies HammerInput),
      );
      for (const w of workers) budget.releaseOnExit(w);
      await Promise.all(workers.map((w) => firstMessage(w)));
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, Math.random() * 5));
        if (policy === 'reset' && i % 3 === 0) budget.refill();
        const s = budget.snapshot();
        expect(s.available).toBeGreaterThanOrEqual(0);
        expect(s.available + s.held + s.sliced).toBe(CAPACITY);
      }
      // Terminate them one by one at random moments.
      for (const w of workers) {
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        await w.terminate();
      }
      expect(budget.snapshot()).toMatchObject({
        available: CAPACITY,
        held: 0,
        sliced: 0,
        handles: 1,
        waiting: 0,
      });
    }
    const s = budget.snapshot();
    console.info(`${policy}: reclaimed ${s.reclaimed} units, ${s.lockTakeovers} lock take-overs`);
    if (policy === 'carry') expect(s.overReleased).toBe(0);
    budget.close();
  }, 300_000);
}
