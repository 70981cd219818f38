import { SharedBudget } from '@budgetry/core';
import { expect, it } from 'vitest';
import { exited, firstMessage, startWorker } from './shared/spawn.js';

it('a worker reserves on the budget the main thread created', async () => {
  const budget = new SharedBudget(10);
  const worker = startWorker('./echo-worker.ts', budget.share());
  const reply = await firstMessage<{ took: boolean; available: number }>(worker);
  expect(reply).toEqual({ took: true, available: 7 });
  await exited(worker);
  expect(budget.available()).toBe(7);
});
