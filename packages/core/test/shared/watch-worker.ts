// Watches a shared budget for freed units: says when it listens, and posts every time it hears.
// With `stay`, it keeps listening until terminated.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedBudget } from '@budgetry/core';

const { descriptor } = workerData.data as { descriptor: never };
const budget = SharedBudget.open(descriptor);
budget.watchFreed(() => parentPort!.postMessage({ heard: budget.available() }));
parentPort!.postMessage({ listening: true });
