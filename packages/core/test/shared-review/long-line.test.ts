// Review: a long line of waiters is served one release at a time, each waiter woken once.
import { SharedBudget } from '@budgetry/core';
import { expect, it } from 'vitest';

for (const n of [250, 1000]) {
  it(`serves ${n} queued acquire(1) one release at a time`, async () => {
    const budget = new SharedBudget(1, { maxWaiters: 4096 });
    const first = budget.tryAcquireSync(1)!;
    const waits = Array.from({ length: n }, () => budget.acquire(1));
    const t0 = performance.now();
    first.releaseSync();
    for (const w of waits) (await w).releaseSync();
    const ms = performance.now() - t0;
    console.info(
      `shared: ${n} waiters served in ${ms.toFixed(0)} ms (${((ms * 1000) / n).toFixed(0)} µs each)`,
    );
    expect(budget.snapshot().waiting).toBe(0);
    budget.close();
  }, 120_000);
}
