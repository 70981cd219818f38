// Worker threads hammering one SharedBudget: the final state must equal what adding up every
// thread's own log says, on every run; invariants hold at every observation in between, and
// a fresh thread reading the budget at quiescence sees the same state.
import { SharedBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import type { HammerInput, HammerReport } from './shared/hammer-worker.js';
import { exited, firstMessage, startWorker } from './shared/spawn.js';

const CAPACITY = 1_000;

async function hammer(
  workers: number,
  ops: number,
  mode: HammerInput['mode'],
  policy: 'reset' | 'carry' = 'reset',
) {
  const budget = new SharedBudget(CAPACITY, { refillPolicy: policy });
  const violations: string[] = [];
  let observations = 0;
  const watch = setInterval(() => {
    const s = budget.snapshot();
    observations++;
    if (s.available < 0 || s.available > CAPACITY) violations.push(`available ${s.available}`);
    if (s.held < 0 || s.held + s.available > CAPACITY) {
      violations.push(`held ${s.held} with available ${s.available}`);
    }
  }, 1);
  const gate = new SharedArrayBuffer(4);
  const threads = Array.from({ length: workers }, (_, i) =>
    startWorker('./hammer-worker.ts', {
      descriptor: budget.share() as never,
      seed: 0x9e3779b9 * (i + 1) + Date.now(),
      ops,
      mode,
      refiller: mode === 'epochs' && i === 0,
      gate,
      workers,
    } satisfies HammerInput),
  );
  const reports = await Promise.all(threads.map((w) => firstMessage<HammerReport>(w)));
  clearInterval(watch);
  return { budget, threads, reports, violations, observations };
}

function expected(reports: HammerReport[], epoch: number) {
  let held = 0;
  let used = 0;
  for (const r of reports) {
    held += r.countHeld + (r.epochs[epoch]?.held ?? 0);
    used += r.epochs[epoch]?.used ?? 0;
  }
  return { held, available: CAPACITY - held - used };
}

async function readFromAnotherThread(budget: SharedBudget): Promise<unknown> {
  const reader = startWorker('./snapshot-worker.ts', budget.share());
  const snapshot = await firstMessage(reader);
  await exited(reader);
  return snapshot;
}

describe('SharedBudget under worker threads', () => {
  for (const [workers, ops] of [
    [2, 1_500_000],
    [4, 750_000],
  ] as const) {
    it(`${workers} workers, count API and permits: the logs add up to the final state`, async () => {
      const run = await hammer(workers, ops, 'mixed');
      const { budget, reports } = run;
      expect(run.violations).toEqual([]);
      expect(reports.reduce((n, r) => n + r.ops, 0)).toBe(workers * ops);
      expect(reports.every((r) => r.denied > 0)).toBe(true); // the budget was contended
      const snapshot = budget.snapshot();
      expect(snapshot).toMatchObject({ ...expected(reports, 0), overReleased: 0, epoch: 0 });
      const { handles: _, ...seen } = (await readFromAnotherThread(budget)) as typeof snapshot;
      const { handles: __, ...here } = budget.snapshot();
      expect(seen).toEqual(here);
      for (const w of run.threads) w.postMessage('close');
      await Promise.all(run.threads.map(exited));
      // Closing each worker's handle gave back what it held; what commits kept stays spent.
      const { available, held } = expected(reports, 0);
      expect(budget.snapshot()).toMatchObject({ available: available + held, held: 0, handles: 1 });
      budget.close();
    }, 120_000);
  }

  it('2 workers, permits with refills from one of them: the final epoch adds up', async () => {
    const run = await hammer(2, 500_000, 'epochs');
    const { budget, reports } = run;
    expect(run.violations).toEqual([]);
    const epoch = budget.epoch;
    expect(epoch).toBeGreaterThan(100);
    expect(budget.snapshot()).toMatchObject(expected(reports, epoch));
    for (const w of run.threads) w.postMessage('close');
    await Promise.all(run.threads.map(exited));
    budget.close();
  }, 120_000);
});
