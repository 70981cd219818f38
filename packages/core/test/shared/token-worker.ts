// Reserves, records, disposes and uses the count API on a SharedTokenBudget with random calls
// from a seed, and reports its own accounting: the tokens it recorded and what it still holds
// (nothing, at the end), so the test can add up every thread's log.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedTokenBudget, type TokenReservation } from '@budgetry/core';
import { seededRandom, waitAtGate } from './worker-kit.js';

export interface TokenWorkerInput {
  descriptor: ReturnType<SharedTokenBudget['share']>;
  seed: number;
  ops: number;
  /** A start line: every worker waits until all have opened the budget, so they overlap. */
  gate: SharedArrayBuffer;
  workers: number;
}

export interface TokenWorkerReport {
  /** Sum of `prompt + completion` over every reservation this worker recorded. */
  consumed: number;
  granted: number;
  denied: number;
  recorded: number;
}

const input = workerData.data as TokenWorkerInput;
const budget = SharedTokenBudget.open(input.descriptor, { leakBackstop: false });
waitAtGate(input.gate, input.workers);

const next = seededRandom(input.seed);

const report: TokenWorkerReport = { consumed: 0, granted: 0, denied: 0, recorded: 0 };
const armed: TokenReservation[] = [];
let counted = 0;

for (let i = 0; i < input.ops; i++) {
  const roll = next(100);
  if (roll < 45) {
    // Estimates of 0 are always granted, even in debt, so usage keeps coming in.
    const r = budget.tryReserveTokensSync(next(4) === 0 ? 0 : 1 + next(60));
    if (r === null) report.denied++;
    else {
      report.granted++;
      armed.push(r);
    }
  } else if (roll < 80 && armed.length > 0) {
    const r = armed.splice(next(armed.length), 1)[0]!;
    const prompt = next(50);
    const completion = next(40); // sometimes above the estimate, sometimes below
    budget.recordUsageSync(r, prompt, completion);
    report.consumed += prompt + completion;
    report.recorded++;
  } else if (roll < 88 && armed.length > 0) {
    armed.splice(next(armed.length), 1)[0]![Symbol.dispose]();
  } else if (roll < 94) {
    const cost = 1 + next(20);
    if (budget.tryReserveSync(cost)) counted += cost;
  } else if (counted > 0) {
    const cost = 1 + next(counted);
    budget.releaseSync(cost);
    counted -= cost;
  }
}
for (const r of armed) r[Symbol.dispose]();
budget.releaseSync(counted);
budget.close();
parentPort!.postMessage(report);
