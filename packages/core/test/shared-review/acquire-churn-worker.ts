// Review worker: many acquire() calls with random cost, priority, abort and timeout; permits
// released after a random delay. Reports outcome counts.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedBudget } from '@budgetry/core';

const { descriptor, n, seed } = workerData.data as { descriptor: never; n: number; seed: number };
const budget = SharedBudget.open(descriptor);
let state = seed >>> 0 || 1;
const next = (k: number): number => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % k;
};
const outcome = await churn(budget, n, next);
parentPort!.postMessage(outcome);
budget.close();

export async function churn(b: SharedBudget, count: number, rnd: (k: number) => number) {
  const tally: Record<string, number> = {};
  const all: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const controller = new AbortController();
    const abortIn = rnd(6);
    const t = setTimeout(() => controller.abort(), abortIn);
    all.push(
      b
        .acquire(1 + rnd(3), {
          signal: controller.signal,
          priority: rnd(3),
          ...(rnd(4) === 0 ? { timeoutMs: rnd(5) } : {}),
        })
        .then(
          async (permit) => {
            clearTimeout(t);
            tally.granted = (tally.granted ?? 0) + 1;
            await new Promise((r) => setTimeout(r, rnd(2)));
            permit.releaseSync();
          },
          (error: { code?: string }) => {
            clearTimeout(t);
            tally[error.code ?? 'other'] = (tally[error.code ?? 'other'] ?? 0) + 1;
          },
        ),
    );
    if (rnd(4) === 0) await new Promise((r) => setTimeout(r, 0));
  }
  await Promise.all(all);
  return tally;
}
