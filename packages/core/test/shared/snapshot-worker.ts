// Opens the budget and posts its snapshot, read from this thread.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedBudget } from '@budgetry/core';

const budget = SharedBudget.open(workerData.data);
parentPort!.postMessage(budget.snapshot());
budget.close();
