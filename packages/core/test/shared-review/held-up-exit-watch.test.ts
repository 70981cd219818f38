// Review: releaseOnExit registered through a handle that was closed before the worker opened.
import { SharedBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { exited, firstMessage, startWorker } from '../shared/spawn.js';

describe('review: exit watch through a closed handle', () => {
  it("gives back the worker's holds even when the watching handle's old lane went to the worker", async () => {
    const budget = new SharedBudget(10); // lane 0
    const watcher = SharedBudget.open(budget.share()); // lane 1
    const worker = startWorker('./echo-worker.ts', budget.share()); // reserves 3 and ends
    watcher.releaseOnExit(worker);
    watcher.close(); // lane 1 is free again; the worker's handle will take it
    const reply = await firstMessage<{ took: boolean }>(worker);
    expect(reply.took).toBe(true);
    await exited(worker);
    await new Promise((r) => setTimeout(r, 20));
    // A closed handle forgets its lane, so reclaimWhere no longer skips the lane it once had.
    expect(budget.snapshot()).toMatchObject({ available: 10, held: 0, handles: 1 });
    budget.close();
  }, 30_000);
});
