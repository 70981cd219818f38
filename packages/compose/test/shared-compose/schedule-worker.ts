// Opens a shared budget (guard or hierarchy) with the system clock and, each time it is told,
// tries to reserve `cost` and reports whether it did and in which epoch.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedBudget, type SharedBudgetDescriptor } from '@budgetry/core';

const { rows, cost } = workerData.data as { rows: SharedBudgetDescriptor; cost: number };
const budget = SharedBudget.open(rows, { leakBackstop: false });
parentPort!.on('message', (message) => {
  if (message === 'stop') {
    budget.close();
    parentPort!.close();
    return;
  }
  const reserved = budget.tryReserveSync(cost);
  parentPort!.postMessage({ reserved, epoch: budget.epoch });
});
parentPort!.postMessage({ ready: true });
