// Loops one locked call until it is terminated: a release of count units another handle
// reserved (the count API is one pool, so it counts them as released for the other handles),
// or a refill.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedBudget, StripedSharedBudget } from '@budgetry/core';

export interface ReleasingInput {
  descriptor: never;
  striped: boolean;
  cost: number;
  /** Loop `refill()` instead of `releaseSync(cost)`. */
  refill?: boolean;
}

const input = workerData.data as ReleasingInput;
const budget = input.striped
  ? StripedSharedBudget.open(input.descriptor, { leakBackstop: false, slice: 4 })
  : SharedBudget.open(input.descriptor, { leakBackstop: false });
parentPort!.postMessage('started');
if (input.refill === true) for (;;) budget.refill();
for (;;) budget.releaseSync(input.cost);
