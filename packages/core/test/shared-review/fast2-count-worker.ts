// Review 2 worker: a SharedBudget handle whose count calls go around the lock.
// `hold`: reserves `units` one at a time, says 'held', and on 'release' gives them back one at
// a time, says 'released', then closes on 'close'.
// `hammer`: reserves and releases 1 until told the budget closed (Int32 word 0 set by the
// main thread after `close()` returned) and then `after` calls more; reports any call that
// succeeded although it started after the close, and any error other than CLOSED.
import { parentPort, workerData } from 'node:worker_threads';
import { BudgetError, SharedBudget } from '@budgetry/core';

export interface CountInput {
  descriptor: never;
  mode: 'hold' | 'hammer';
  units: number;
  /** Int32 words: [0] set to 1 once the creator's close() returned. */
  shared: SharedArrayBuffer;
  after: number;
}

const input = workerData.data as CountInput;
const budget = SharedBudget.open(input.descriptor, { leakBackstop: false });
const port = parentPort!;

function code(error: unknown): string {
  return BudgetError.isInstance(error) ? error.code : String(error);
}

if (input.mode === 'hold') {
  let held = 0;
  for (let i = 0; i < input.units; i++) if (budget.tryReserveSync(1)) held++;
  port.postMessage({ held });
  port.on('message', (m) => {
    if (m === 'release') {
      for (let i = 0; i < held; i++) budget.releaseSync(1);
      port.postMessage('released');
    } else {
      budget.close();
      port.close();
    }
  });
} else {
  const words = new Int32Array(input.shared);
  let lateGrants = 0;
  let otherErrors = 0;
  let closedSeen = 0;
  let grants = 0;
  let left = input.after;
  port.postMessage('started');
  while (left > 0) {
    const closedBefore = Atomics.load(words, 0) === 1;
    if (closedBefore) left--;
    try {
      if (budget.tryReserveSync(1)) {
        grants++;
        if (closedBefore) lateGrants++;
        budget.releaseSync(1);
      }
    } catch (error) {
      if (code(error) === 'CLOSED') closedSeen++;
      else otherErrors++;
    }
  }
  port.postMessage({ lateGrants, otherErrors, closedSeen, grants });
  budget.close();
  port.close();
}
