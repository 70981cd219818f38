// A worker for compose-over-shared tests. Opens a SharedBudget and a SharedTokenBudget from
// their descriptors and, depending on `mode`:
// - `coordinator`: runs a coordinator over both for `ops` random dispatches (settle under,
//   at and over the estimate, cancel), reporting what it committed and the token usage it
//   recorded, so the test can add every thread's log up;
// - `hold`: takes permits through allOf on both and parks (to be terminated while holding);
// - `release-later`: reserves `cost` on the guard's count API, says so, then releases it when
//   told (a release made in another thread than a waiting line's);
// - `churn-node`: reserves and releases `cost` on one SharedHierarchy node's count API, as
//   fast as it can, until told to stop; reports its own balance.
import { parentPort, workerData } from 'node:worker_threads';
import {
  SharedBudget,
  type SharedBudgetDescriptor,
  SharedHierarchy,
  SharedTokenBudget,
  type SyncBudgetPermit,
} from '@budgetry/core';
import { allOf, coordinator } from '../../src/index.js';
import { seededRandom, waitAtGate } from './spawn.js';

export interface CompositeInput {
  mode: 'coordinator' | 'hold' | 'release-later' | 'churn-node';
  rows?: SharedBudgetDescriptor;
  tokens?: SharedBudgetDescriptor;
  tree?: SharedBudgetDescriptor;
  seed?: number;
  ops?: number;
  cost?: number;
  gate?: SharedArrayBuffer;
  workers?: number;
  /** An Int32 flag: 1 means stop (churn-node). */
  stop?: SharedArrayBuffer;
}

export interface CoordinatorReport {
  /** Rows committed (spent) through settles, this epoch-less run. */
  rowsSpent: number;
  /** Tokens recorded as usage (prompt + completion). */
  tokensUsed: number;
  /** Row overage reported as shortfall (not charged). */
  shortfall: number;
  granted: number;
  denied: number;
}

const input = workerData.data as CompositeInput;
const port = parentPort!;

if (input.mode === 'coordinator') {
  const rows = SharedBudget.open(input.rows!, { leakBackstop: false });
  const tokens = SharedTokenBudget.open(input.tokens!, { leakBackstop: false });
  const llm = coordinator({ rows, tokens });
  const next = seededRandom(input.seed!);
  const report: CoordinatorReport = {
    rowsSpent: 0,
    tokensUsed: 0,
    shortfall: 0,
    granted: 0,
    denied: 0,
  };
  waitAtGate(input.gate!, input.workers!);
  for (let i = 0; i < input.ops!; i++) {
    const estimate = { rows: 1 + next(5), tokens: next(40) };
    const r = llm.tryReserveSync(estimate);
    if (!r.ok) {
      report.denied++;
      continue;
    }
    report.granted++;
    const roll = next(10);
    if (roll < 2) {
      r.permit.cancelSync();
      continue;
    }
    // Rows used at or under the estimate (over would be a shortfall race); tokens anywhere.
    const rowsUsed = next(estimate.rows + 1);
    const tokensUsed = next(60);
    const result = r.permit.settleSync({ rows: rowsUsed, tokens: tokensUsed });
    report.rowsSpent += rowsUsed;
    report.tokensUsed += tokensUsed;
    report.shortfall += Object.values(
      (result as { shortfall?: Record<string, number> }).shortfall ?? {},
    ).reduce((a, b) => a + b, 0);
  }
  rows.close();
  tokens.close();
  port.postMessage(report);
} else if (input.mode === 'hold') {
  const rows = SharedBudget.open(input.rows!, { leakBackstop: false });
  const tokens = SharedTokenBudget.open(input.tokens!, { leakBackstop: false });
  const both = allOf({ rows, tokens });
  const held: SyncBudgetPermit[] = [];
  for (let i = 0; i < 5; i++) {
    const p = both.tryAcquireSync(input.cost!);
    if (p !== null) held.push(p);
  }
  // Count reservations too, through the combinator's count API.
  const counted = both.tryReserveSync(input.cost!);
  port.postMessage({ permits: held.length, counted });
  // Park: the test terminates this thread while it holds everything. The handles stay
  // reachable: one collected first would give its count reservations back.
  (globalThis as { keep?: unknown }).keep = { rows, tokens, both, held };
  setInterval(() => {}, 1_000);
} else if (input.mode === 'release-later') {
  const rows = SharedBudget.open(input.rows!);
  const ok = rows.tryReserveSync(input.cost!);
  port.postMessage({ reserved: ok });
  port.once('message', () => {
    rows.releaseSync(input.cost!);
    port.postMessage({ released: true, available: rows.available() });
    rows.close();
    port.close();
  });
} else if (input.mode === 'churn-node') {
  const tree = SharedHierarchy.open(input.tree!);
  const node = tree.child('t');
  const stop = new Int32Array(input.stop!);
  const cost = input.cost!;
  let reserved = 0;
  let released = 0;
  waitAtGate(input.gate!, input.workers!);
  while (Atomics.load(stop, 0) === 0) {
    if (node.tryReserveSync(cost)) {
      reserved += cost;
      node.releaseSync(cost);
      released += cost;
    }
  }
  tree.close();
  port.postMessage({ reserved, released });
}
