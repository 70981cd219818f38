import { parentPort, workerData } from 'node:worker_threads';
import { SharedBudget } from '@budgetry/core';

const budget = SharedBudget.open(workerData.data);
const took = budget.tryReserveSync(3);
parentPort!.postMessage({ took, available: budget.available() });
