// Waits in line for `cost` units, says so, reports when it holds them, and releases them
// when told to.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedBudget } from '@budgetry/core';

const { descriptor, cost } = workerData.data as { descriptor: never; cost: number };
const budget = SharedBudget.open(descriptor);
const waiting = budget.acquire(cost);
parentPort!.postMessage({ queued: true });
const permit = await waiting;
parentPort!.postMessage({ cost: permit.cost, at: Date.now() });
parentPort!.once('message', () => {
  permit.releaseSync();
  budget.close();
  parentPort!.close();
});
