// Releases count units in a loop until it is terminated: units another handle reserved (the
// count API is one pool), so every release goes through the lock and counts them as released
// for the other handles.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedBudget, StripedSharedBudget } from '@budgetry/core';

export interface ReleasingInput {
  descriptor: never;
  striped: boolean;
  cost: number;
}

const input = workerData.data as ReleasingInput;
const budget = input.striped
  ? StripedSharedBudget.open(input.descriptor, { leakBackstop: false, slice: 4 })
  : SharedBudget.open(input.descriptor, { leakBackstop: false });
parentPort!.postMessage('started');
for (;;) budget.releaseSync(input.cost);
