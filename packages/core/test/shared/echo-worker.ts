import { parentPort, workerData } from 'node:worker_threads';
import { SharedBudget } from '@budgetry/core';

const budget = SharedBudget.open(workerData.data);
const took = budget.tryReserveSync(3);
parentPort!.postMessage({ took, available: budget.available() });
// Kept reachable until the thread ends: a handle collected first gives its count reservations
// back (the dropped-handle backstop), and the test checks the units stay held after exit.
(globalThis as { keep?: unknown }).keep = budget;
