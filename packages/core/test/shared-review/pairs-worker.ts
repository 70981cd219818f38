// Review worker: opens the budget (plain or striped), waits at a gate, then does `ops`
// reserve(1)+release(1) pairs (or permit pairs) in a tight synchronous loop, and reports.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedBudget, StripedSharedBudget } from '@budgetry/core';

const input = workerData.data as {
  descriptor: never;
  ops: number;
  gate: SharedArrayBuffer;
  workers: number;
  slice?: number;
  permits?: boolean;
};
const budget =
  input.slice === undefined
    ? SharedBudget.open(input.descriptor, { leakBackstop: false })
    : StripedSharedBudget.open(input.descriptor, { leakBackstop: false, slice: input.slice });
const gate = new Int32Array(input.gate);
Atomics.add(gate, 0, 1);
Atomics.notify(gate, 0);
for (let seen = Atomics.load(gate, 0); seen < input.workers; seen = Atomics.load(gate, 0)) {
  Atomics.wait(gate, 0, seen, 1_000);
}
let granted = 0;
let denied = 0;
let error: string | undefined;
try {
  for (let i = 0; i < input.ops; i++) {
    if (input.permits) {
      const p = budget.tryAcquireSync(1);
      if (p === null) denied++;
      else {
        granted++;
        p.releaseSync();
      }
    } else if (budget.tryReserveSync(1)) {
      granted++;
      budget.releaseSync(1);
    } else denied++;
  }
} catch (e) {
  error = String((e as { code?: string }).code ?? e);
}
parentPort!.postMessage({ granted, denied, error });
parentPort!.once('message', () => {
  budget.close();
  parentPort!.close();
});
