// Hammers a SharedBudget with random calls from a seed and reports its own accounting: what
// it still holds and what it committed, per epoch, so the test can add up every thread's
// log and compare with the budget's final state.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedBudget, StripedSharedBudget, type SyncBudgetPermit } from '@budgetry/core';
import { seededRandom, waitAtGate } from './worker-kit.js';

export interface HammerInput {
  descriptor: never;
  seed: number;
  ops: number;
  /** `mixed`: count API and permits, no refills. `epochs`: permits and refills. `churn`: until killed. */
  mode: 'mixed' | 'epochs' | 'churn';
  refiller: boolean;
  /** A start line: every worker waits until all have opened the budget, so they overlap. */
  gate: SharedArrayBuffer;
  workers: number;
  /** Open a striped handle with this slice instead of a plain one. */
  slice?: number;
}

/**
 * Per epoch: units of that epoch's permits still held, and units its permits' commits kept.
 * Under `reset` only the final epoch's figures show in the final state: a permit of that
 * epoch was taken, and so committed, while it was live, and no refill followed.
 */
export interface EpochLog {
  held: number;
  used: number;
}

export interface HammerReport {
  countHeld: number;
  epochs: Record<number, EpochLog>;
  ops: number;
  denied: number;
}

const input = workerData.data as HammerInput;
const budget =
  input.slice === undefined
    ? SharedBudget.open(input.descriptor, { leakBackstop: false })
    : StripedSharedBudget.open(input.descriptor, { leakBackstop: false, slice: input.slice });
waitAtGate(input.gate, input.workers);

const next = seededRandom(input.seed);

const reserved: number[] = [];
const permits: SyncBudgetPermit[] = [];
const report: HammerReport = { countHeld: 0, epochs: {}, ops: 0, denied: 0 };
const log = (epoch: number): EpochLog => (report.epochs[epoch] ??= { held: 0, used: 0 });
const useCount = input.mode !== 'epochs';

function step(): void {
  const roll = next(100);
  if (useCount && roll < 25) {
    const cost = next(9);
    if (budget.tryReserveSync(cost)) reserved.push(cost);
    else report.denied++;
  } else if (useCount && roll < 50) {
    const cost = reserved.length > 0 ? reserved.splice(next(reserved.length), 1)[0]! : 0;
    budget.releaseSync(cost);
  } else if (roll < (useCount ? 74 : 48)) {
    const permit = budget.tryAcquireSync(next(9));
    if (permit === null) report.denied++;
    else permits.push(permit);
  } else if (permits.length > 0) {
    const permit = permits.splice(next(permits.length), 1)[0]!;
    if (input.mode !== 'churn' && next(2) === 0) {
      const used = next(permit.cost + 1);
      permit.commitSync(used);
      log(permit.epoch).used += used;
    } else {
      permit.releaseSync();
    }
  } else if (input.refiller && report.ops < input.ops * 0.8 && next(50) === 0) {
    // Refills stop for the last fifth, so the final epoch is long enough to count.
    budget.refill();
  }
  report.ops++;
}

if (input.mode === 'churn') {
  parentPort!.postMessage('started');
  for (;;) step();
}
for (let i = 0; i < input.ops; i++) step();
for (const permit of permits) log(permit.epoch).held += permit.cost;
report.countHeld = reserved.reduce((sum, cost) => sum + cost, 0);
parentPort!.postMessage(report);
// Holds stay: the test checks them, then closes the budget.
parentPort!.once('message', () => {
  budget.close();
  parentPort!.close();
});
