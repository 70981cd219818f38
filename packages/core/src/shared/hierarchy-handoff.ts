// What a shared hierarchy's count-API release does to other handles' records (a node's count
// API is one pool, so a handle may release units another reserved): each handle's records say
// what comes back when it is reclaimed, and must never say less than it holds.
import { E_COUNT } from './hierarchy-layout.js';
import type { HierarchyTree } from './hierarchy-tree.js';
import { S_UNCLAIMED } from './layout.js';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * @internal With the lock held, after the caller's own tail: a release on `node` of `amount`
 * units beyond what the releasing handle's record holds released units other handles reserved.
 * When one other handle alone records units on the node, they were its: its record stops
 * holding them (one store), so a hand-off from one thread to another frees the reserving
 * handle's record. When several do, whose units they were is not known, and no record is
 * debited: taking them from the wrong one let its reclaim give back units another handle still
 * held. The records then hold more than the node, which `reclaimHolds` clamps, as it does for a
 * thread stopped before this store. (A release that leaves the node's count API holding nothing
 * clears every record of it instead: see {@link clearRecords}.)
 */
export function releaseCountOfOthers(
  t: HierarchyTree,
  node: number,
  amount: number,
  epoch: number,
): void {
  let only = -1;
  for (let j = 0; j < t.layout.lanes; j++) {
    if (j === t.region.lane || t.countOf(j, node, epoch) === 0) continue;
    if (only >= 0) {
      // A second handle records units here: none is debited. `S_UNCLAIMED` (unused by a tree
      // otherwise) says records may hold spent units until a refill, so that any release that
      // drains a node clears its records.
      t.f64[S_UNCLAIMED] = Math.min(t.f64[S_UNCLAIMED]! + amount, MAX);
      return;
    }
    only = j;
  }
  if (only < 0) return;
  const recorded = t.countOf(only, node, epoch);
  const e = t.findHoldIn(t.layout.holdsF64(only), node);
  t.f64[e + E_COUNT] = recorded - Math.min(recorded, amount);
}

/**
 * @internal With the lock held, after the caller's tail: the count-API part of every record of
 * `node` in `epoch` cleared, once the node's count API holds nothing (so all of it is spent),
 * which frees their slots. One store per record; a thread stopped between two leaves records
 * holding spent units, which `reclaimHolds` clamps.
 */
export function clearRecords(t: HierarchyTree, node: number, epoch: number): void {
  for (let j = 0; j < t.layout.lanes; j++) {
    if (t.countOf(j, node, epoch) === 0) continue;
    t.f64[t.findHoldIn(t.layout.holdsF64(j), node) + E_COUNT] = 0;
  }
}
