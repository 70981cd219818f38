// Review worker: hammers a SharedBudget's count API (the lock-free path) until told to stop,
// or until terminated. `pool`: units one worker reserved are released by whichever worker
// claims them from a shared tally (the count API is one pool). `own`: each worker releases
// only what it reserved itself.
import { parentPort, workerData } from 'node:worker_threads';
import { BudgetError, SharedBudget } from '@budgetry/core';
import { seededRandom } from '../shared/worker-kit.js';

export interface PoolInput {
  descriptor: never;
  seed: number;
  mode: 'pool' | 'own';
  /** Int32 words: [0] stop flag, [1] units reserved and not yet claimed (pool mode). */
  shared: SharedArrayBuffer;
  /** Largest cost of one call. */
  maxCost: number;
}

const input = workerData.data as PoolInput;
const words = new Int32Array(input.shared);
const budget = SharedBudget.open(input.descriptor, { leakBackstop: false });
const next = seededRandom(input.seed);
const mine: number[] = [];
let ops = 0;
let errors = 0;

/** Claims up to `want` units from the shared tally; returns how many. */
function claim(want: number): number {
  for (;;) {
    const seen = Atomics.load(words, 1);
    const take = Math.min(seen, want);
    if (take === 0) return 0;
    if (Atomics.compareExchange(words, 1, seen, seen - take) === seen) return take;
  }
}

parentPort!.postMessage('started');
try {
  while (Atomics.load(words, 0) === 0) {
    const cost = 1 + next(input.maxCost);
    if (next(2) === 0) {
      if (budget.tryReserveSync(cost)) {
        if (input.mode === 'pool') Atomics.add(words, 1, cost);
        else mine.push(cost);
      }
    } else if (input.mode === 'pool') {
      const take = claim(cost);
      if (take > 0) budget.releaseSync(take);
    } else if (mine.length > 0) {
      budget.releaseSync(mine.pop()!);
    }
    ops++;
  }
} catch (error) {
  errors++;
  parentPort!.postMessage({ error: BudgetError.isInstance(error) ? error.code : String(error) });
}
// Hand back what this worker still holds in own mode, so the tally is exact; then close.
parentPort!.postMessage({ ops, errors, held: mine.reduce((a, b) => a + b, 0) });
parentPort!.once('message', () => {
  budget.close();
  parentPort!.postMessage('closed');
});
