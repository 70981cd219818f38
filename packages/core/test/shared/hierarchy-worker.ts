// Hammers a SharedHierarchy with random calls on random tenants at depth 2 and 3, from a
// seed, and reports its own accounting per node: what it still holds (count API and permits,
// per epoch) and what its commits kept, so the test can add up every thread's log and
// compare with the tree's final state, node by node.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedHierarchy, type SharedHierarchyNode, type SyncBudgetPermit } from '@budgetry/core';
import { seededRandom, waitAtGate } from './worker-kit.js';

export interface HierarchyHammerInput {
  descriptor: never;
  seed: number;
  ops: number;
  /** `mixed`: count API and permits. `epochs`: permits and refills. `churn`: until killed. */
  mode: 'mixed' | 'epochs' | 'churn';
  refiller: boolean;
  gate: SharedArrayBuffer;
  workers: number;
  /** Keys per level. */
  keys: readonly string[];
}

/** Per node (its path, JSON), per epoch: units held by permits, units commits kept. */
export interface NodeLog {
  held: number;
  used: number;
}

export interface HierarchyHammerReport {
  /** Count-API units still reserved, per node (path as JSON). */
  count: Record<string, number>;
  /** epoch → node → log. */
  epochs: Record<number, Record<string, NodeLog>>;
  ops: number;
  denied: number;
}

const input = workerData.data as HierarchyHammerInput;
const root = SharedHierarchy.open(input.descriptor, { leakBackstop: false });
waitAtGate(input.gate, input.workers);

const next = seededRandom(input.seed);

const keys = input.keys;
function tenant(): { node: SharedHierarchyNode; id: string } {
  const path = [keys[next(keys.length)]!, keys[next(keys.length)]!];
  if (next(2) === 0) path.push(keys[next(keys.length)]!);
  return { node: root.at(...path), id: JSON.stringify(path) };
}

const reserved: { node: SharedHierarchyNode; id: string; cost: number }[] = [];
const permits: { permit: SyncBudgetPermit; id: string }[] = [];
const report: HierarchyHammerReport = { count: {}, epochs: {}, ops: 0, denied: 0 };
const log = (epoch: number, id: string): NodeLog => {
  const nodes = (report.epochs[epoch] ??= {});
  return (nodes[id] ??= { held: 0, used: 0 });
};
const useCount = input.mode !== 'epochs';

function step(): void {
  const roll = next(100);
  if (useCount && roll < 25) {
    const { node, id } = tenant();
    const cost = next(6);
    if (node.tryReserveSync(cost)) reserved.push({ node, id, cost });
    else report.denied++;
  } else if (useCount && roll < 50) {
    if (reserved.length > 0) {
      const r = reserved.splice(next(reserved.length), 1)[0]!;
      r.node.releaseSync(r.cost);
    }
  } else if (roll < (useCount ? 74 : 48)) {
    const { node, id } = tenant();
    const permit = node.tryAcquireSync(next(6));
    if (permit === null) report.denied++;
    else permits.push({ permit, id });
  } else if (permits.length > 0) {
    const { permit, id } = permits.splice(next(permits.length), 1)[0]!;
    if (input.mode !== 'churn' && next(2) === 0) {
      const used = next(permit.cost + 1);
      permit.commitSync(used);
      log(permit.epoch, id).used += used;
    } else {
      permit.releaseSync();
    }
  } else if (input.refiller && report.ops < input.ops * 0.8 && next(40) === 0) {
    root.refill();
  }
  report.ops++;
}

if (input.mode === 'churn') {
  parentPort!.postMessage('started');
  for (;;) step();
}
for (let i = 0; i < input.ops; i++) step();
for (const { permit, id } of permits) log(permit.epoch, id).held += permit.cost;
for (const { id, cost } of reserved) report.count[id] = (report.count[id] ?? 0) + cost;
parentPort!.postMessage(report);
parentPort!.once('message', () => {
  root.close();
  parentPort!.close();
});
