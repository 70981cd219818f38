import { unwatchLeak, watchLeak } from '../budgets/backstop.js';
import { describe, invalid } from '../budgets/options.js';
import { checkUsed, WatchedPermit } from '../budgets/sync-permit-base.js';
import { assertAmount } from '../spec/amount.js';
import type { SyncBudgetGuard, SyncBudgetPermit } from '../spec/budget-guard.js';
import { type BudgetCapabilities, schedulableCapabilities } from '../spec/capabilities.js';
import type { Decision } from '../spec/decision.js';
import { tellOverRelease, tellReserved, tellSettled } from './hierarchy-events.js';
import { clearRecords, releaseCountOfOthers } from './hierarchy-handoff.js';
import { childKeys, hasChild } from './hierarchy-keys.js';
import { E_COUNT, E_EPOCH, E_PERMITS, N_CAP, N_COUNT, N_HELD, N_OWN } from './hierarchy-layout.js';
import { tooMany } from './hierarchy-limits.js';
import { HierarchyNodeReads } from './hierarchy-reads.js';
import type { HierarchyTree } from './hierarchy-tree.js';
import {
  H_CLOSED,
  HF_DUE,
  LOCK_CONTENDED,
  S_EPOCH,
  S_LEAKS,
  S_OVER_RELEASED,
  S_UNCLAIMED,
  W_LOCK,
  W_WATCHERS,
} from './layout.js';
import { HELD, type PermitSettler, RELEASED, SharedPermit } from './shared-permit.js';

const MAX = Number.MAX_SAFE_INTEGER;
const ROOT_CAPABILITIES = schedulableCapabilities('reset');
const CHILD_CAPABILITIES: BudgetCapabilities = Object.freeze({
  ...ROOT_CAPABILITIES,
  schedulable: false,
});

/**
 * One node of a {@link SharedHierarchy} — the root, an org, a team, a user — as a handle in
 * this thread. A reservation on a node charges it and every ancestor up to the root in one
 * critical section of the shared memory, or, when any of them lacks room, changes nothing;
 * `held()` counts the node's own holds plus its subtree's, so `Σ children held + own held =
 * held ≤ capacity` at every node, across every thread.
 *
 * Get nodes from the root with {@link SharedHierarchyNode.child} and
 * {@link SharedHierarchyNode.at}; a node is made in the shared memory the first time any
 * thread names it and is never removed (see `maxNodes`).
 *
 * @example
 * ```ts
 * import { SharedHierarchy } from '@budgetry/core';
 *
 * const root = new SharedHierarchy({ capacity: 100, children: { capacity: 40, children: { capacity: 10 } } });
 * const key = root.at('org-1', 'user-7');
 * const permit = key.tryAcquireSync(5); // charges user-7, org-1 and the root
 * console.log(root.held(), root.child('org-1').ownHeld()); // 5 0
 * permit?.commitSync(2); // 2 stay spent until the root's next refill
 * root.close();
 * ```
 */
export class SharedHierarchyNode
  extends HierarchyNodeReads
  implements SyncBudgetGuard, PermitSettler
{
  /** The parent, or `null` at the root. */
  readonly parent: SharedHierarchyNode | null;
  /** The key under which the parent holds this node (`''` at the root). */
  readonly key: string;
  /** Depth in the tree: 0 at the root. */
  readonly depth: number;
  private kids: Map<string, SharedHierarchyNode> | undefined = undefined;

  /** @internal Use {@link SharedHierarchyNode.child}. */
  constructor(tree: HierarchyTree, parent: SharedHierarchyNode | null, key: string, index: number) {
    super(tree, index, parent);
    this.parent = parent;
    this.key = key;
    this.depth = parent === null ? 0 : parent.depth + 1;
  }

  /**
   * Synchronous, pool count release, partial commit, `reset` epochs; only the root is
   * schedulable (a child's epochs are the root's).
   */
  get capabilities(): BudgetCapabilities {
    return this.parent === null ? ROOT_CAPABILITIES : CHILD_CAPABILITIES;
  }

  /** What a refill of the root does: always `reset` for a hierarchy. */
  get refillPolicy(): 'reset' {
    return 'reset';
  }

  /** Keys from the root down to this node (empty at the root). */
  get path(): string[] {
    const keys: string[] = [];
    for (let n: SharedHierarchyNode | null = this; n?.parent; n = n.parent) keys.push(n.key);
    return keys.reverse();
  }

  /**
   * Reserve `cost` on this node and every ancestor, or on none.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when the whole path had room.
   * @throws BudgetError `CLOSED` or `LEASE_EXPIRED` when this handle can no longer be used;
   * `BACKEND` when this handle already holds units on `maxHoldsPerHandle` other nodes.
   */
  tryReserveSync(cost: number): boolean {
    return this.charge(cost, false) >= 0;
  }

  /**
   * Reserve `cost` on this node and every ancestor as a permit, settled once in this thread.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or `null` when some node on the path had no room.
   */
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    const epoch = this.charge(cost, true);
    return epoch < 0 ? null : this.permitOf(cost, epoch);
  }

  /**
   * {@link SharedHierarchyNode.tryAcquireSync}, saying which node denied: the first on the
   * path from this node up to the root without room for `cost`, as compose's hierarchy does.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or in `deniedBy` the path of the node that had no room (`[]` for the
   * root), with `exceedsCapacity: true` when the cost is above the smallest capacity on this
   * node's path as it stands.
   */
  tryAcquireDetailedSync(cost: number): Decision<readonly string[], SyncBudgetPermit> {
    const epoch = this.charge(cost, true);
    if (epoch >= 0) return { ok: true, permit: this.permitOf(cost, epoch) };
    let node: SharedHierarchyNode = this;
    for (let up = -1 - epoch; up > 0 && node.parent !== null; up--) node = node.parent;
    return cost > this.pathCapacity()
      ? { ok: false, deniedBy: node.path, exceedsCapacity: true }
      : { ok: false, deniedBy: node.path };
  }

  /** {@inheritDoc SharedHierarchyNode.tryAcquireDetailedSync} */
  async tryAcquireDetailed(cost: number): Promise<Decision<readonly string[], SyncBudgetPermit>> {
    return this.tryAcquireDetailedSync(cost);
  }

  /** The permit for `cost` units this handle charged in `epoch`, watched by the backstop. */
  private permitOf(cost: number, epoch: number): SyncBudgetPermit {
    const permit = new SharedPermit(this, cost, epoch, this.tree.gen);
    if (!this.tree.backstop) return permit;
    const handle = new WatchedPermit(permit);
    watchLeak(handle, permit);
    return handle;
  }

  /**
   * Takes `cost` on the whole path (count API or permit); returns the epoch, or on a denial
   * −1 − how many levels above this node the node without room is. One critical section:
   * reads and checks first, then one tail of stores; the listeners, if any, are told after.
   */
  private charge(cost: number, permit: boolean): number {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    const t = this.tree;
    if (t.catchUp !== undefined) t.catchUp();
    if (t.f64[HF_DUE] !== Number.POSITIVE_INFINITY) t.refills?.catchUpDue();
    const f = t.f64;
    const i32 = t.i32;
    if (Atomics.compareExchange(i32, W_LOCK, 0, t.owner) !== 0) t.region.slowLock();
    if (i32[t.genIndex] !== t.gen || i32[H_CLOSED] !== 0) t.refuse();
    const epoch = f[S_EPOCH]!;
    const { p0, p1, p2, p3, p4 } = this;
    this.freshenPath(epoch);
    const h0 = f[p0 + N_HELD]!;
    const h1 = f[p1 + N_HELD]!;
    const h2 = f[p2 + N_HELD]!;
    const h3 = f[p3 + N_HELD]!;
    const h4 = f[p4 + N_HELD]!;
    // Each node's room (the scratch node's is infinite).
    const r0 = f[p0 + N_CAP]! - h0;
    const r1 = f[p1 + N_CAP]! - h1;
    const r2 = f[p2 + N_CAP]! - h2;
    const r3 = f[p3 + N_CAP]! - h3;
    const r4 = f[p4 + N_CAP]! - h4;
    if (cost > r0 || cost > r1 || cost > r2 || cost > r3 || cost > r4) {
      // Rare path: which node, from this one up, had no room.
      const up = cost > r0 ? 0 : cost > r1 ? 1 : cost > r2 ? 2 : cost > r3 ? 3 : 4;
      this.unlock();
      const list = t.listeners;
      if (list !== undefined) {
        tellReserved(list, this, cost, Math.max(Math.min(r0, r1, r2, r3, r4), 0), up);
      }
      return -1 - up;
    }
    const e = cost === 0 ? t.layout.scratchHoldF64 : this.record(epoch, true);
    if (e < 0) t.fail(tooMany(t, this.path));
    const c0 = f[p0 + N_COUNT]! + (permit ? 0 : cost);
    const o0 = f[p0 + N_OWN]! + cost;
    const ec = f[e + E_COUNT]! + (permit ? 0 : cost);
    const ep = f[e + E_PERMITS]! + (permit ? cost : 0);
    // The tail: stores only, which a terminated thread finishes or never starts (see slowLock).
    f[p4 + N_HELD] = h4 + cost;
    f[p3 + N_HELD] = h3 + cost;
    f[p2 + N_HELD] = h2 + cost;
    f[p1 + N_HELD] = h1 + cost;
    f[p0 + N_HELD] = h0 + cost;
    f[p0 + N_COUNT] = c0;
    f[p0 + N_OWN] = o0;
    f[e + E_COUNT] = ec;
    f[e + E_PERMITS] = ep;
    if ((Atomics.exchange(i32, W_LOCK, 0) & LOCK_CONTENDED) !== 0) Atomics.notify(i32, W_LOCK, 1);
    if (--t.callsToBeat === 0) t.beatNow();
    const list = t.listeners;
    if (list !== undefined) tellReserved(list, this, cost, Math.min(r0, r1, r2, r3, r4) - cost, -1);
    return epoch;
  }

  /**
   * Return `cost` units reserved on this node with the count API (in any thread: a node's
   * count API is one pool), to it and every ancestor. Units beyond what the node's count API
   * holds in the current epoch are ignored and counted in `overReleased()`.
   *
   * @param cost - a non-negative safe integer.
   */
  releaseSync(cost: number): void {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    const t = this.tree;
    if (t.catchUp !== undefined) t.catchUp();
    const list = t.listeners;
    const f = t.f64;
    const i32 = t.i32;
    if (Atomics.compareExchange(i32, W_LOCK, 0, t.owner) !== 0) t.region.slowLock();
    if (i32[t.genIndex] !== t.gen || i32[H_CLOSED] !== 0) t.refuse();
    const epoch = f[S_EPOCH]!;
    const { p0, p1, p2, p3, p4 } = this;
    this.freshenPath(epoch);
    const counted = f[p0 + N_COUNT]!;
    const accepted = Math.min(cost, counted);
    const over =
      cost > counted ? Math.min(f[S_OVER_RELEASED]! + cost - counted, MAX) : f[S_OVER_RELEASED]!;
    // This handle's record, if it has one for the node: a handle's count is net of its
    // releases (as on SharedBudget), never below zero.
    const found = this.record(epoch, false);
    const e = found < 0 ? t.layout.scratchHoldF64 : found;
    const mine = found >= 0 && f[e + E_EPOCH] === epoch ? f[e + E_COUNT]! : 0;
    const ec = Math.max(mine - accepted, 0);
    const h0 = f[p0 + N_HELD]! - accepted;
    const h1 = f[p1 + N_HELD]! - accepted;
    const h2 = f[p2 + N_HELD]! - accepted;
    const h3 = f[p3 + N_HELD]! - accepted;
    const h4 = f[p4 + N_HELD]! - accepted;
    const o0 = f[p0 + N_OWN]! - accepted;
    const available = list === undefined ? 0 : this.roomAfter(h0, h1, h2, h3, h4);
    // The tail: stores only.
    f[p4 + N_HELD] = h4;
    f[p3 + N_HELD] = h3;
    f[p2 + N_HELD] = h2;
    f[p1 + N_HELD] = h1;
    f[p0 + N_HELD] = h0;
    f[p0 + N_COUNT] = counted - accepted;
    f[p0 + N_OWN] = o0;
    f[e + E_COUNT] = ec;
    f[S_OVER_RELEASED] = over;
    // A release that drains the node clears every record of it: after another's units, or, once
    // some release debited no record (one load when none did), after its own. Else units
    // beyond its own record come off another's record, when that is known to be theirs.
    if (counted === accepted && (accepted > mine || f[S_UNCLAIMED]! > 0)) {
      clearRecords(t, this.index, epoch);
    } else if (accepted > mine) releaseCountOfOthers(t, this.index, accepted - mine, epoch);
    if ((Atomics.exchange(i32, W_LOCK, 0) & LOCK_CONTENDED) !== 0) Atomics.notify(i32, W_LOCK, 1);
    if (--t.callsToBeat === 0) t.beatNow();
    if (accepted > 0 && Atomics.load(i32, W_WATCHERS) > 0) t.region.bumpFreed();
    if (list === undefined) return;
    tellSettled(list, this, true, cost, 0, accepted, available, false);
    if (accepted !== cost) tellOverRelease(list, this, cost, accepted);
  }

  /**
   * @internal Settles a permit of this node once; returns whether this call settled it. A
   * permit of an epoch a refill fenced off, of a handle whose holds were reclaimed, or of a
   * closed tree gives nothing back: its units came back already.
   */
  settlePermit(cell: SharedPermit, to: number, leaked: boolean, used?: number): boolean {
    const spent = used === undefined ? cell.cost : checkUsed(used, cell.cost);
    const t = this.tree;
    if (t.catchUp !== undefined) t.catchUp();
    if (cell.status !== HELD) return false;
    cell.status = to;
    unwatchLeak(cell);
    const f = t.f64;
    const { p0, p1, p2, p3, p4 } = this;
    const list = t.listeners;
    t.lock();
    const live =
      t.i32[t.genIndex] === cell.gen && cell.epoch === f[S_EPOCH] && t.i32[H_CLOSED] === 0;
    // Live: the path and this handle's record were written in this epoch, and are current.
    const found = live ? this.record(cell.epoch, false) : -1;
    const e = found < 0 ? t.layout.scratchHoldF64 : found;
    const back = live ? (to === RELEASED ? cell.cost : cell.cost - spent) : 0;
    const ep = f[e + E_PERMITS]! - (live ? cell.cost : 0);
    const h0 = f[p0 + N_HELD]! - back;
    const h1 = f[p1 + N_HELD]! - back;
    const h2 = f[p2 + N_HELD]! - back;
    const h3 = f[p3 + N_HELD]! - back;
    const h4 = f[p4 + N_HELD]! - back;
    const o0 = f[p0 + N_OWN]! - back;
    const leaks = leaked ? f[S_LEAKS]! + 1 : f[S_LEAKS]!;
    // Not live, the path may be of an older epoch, and nothing changes on it.
    const available =
      list === undefined ? 0 : live ? this.roomAfter(h0, h1, h2, h3, h4) : this.roomNow();
    // The tail: stores only.
    f[p4 + N_HELD] = h4;
    f[p3 + N_HELD] = h3;
    f[p2 + N_HELD] = h2;
    f[p1 + N_HELD] = h1;
    f[p0 + N_HELD] = h0;
    f[p0 + N_OWN] = o0;
    f[e + E_PERMITS] = ep;
    f[S_LEAKS] = leaks;
    t.unlock();
    if (back > 0 && Atomics.load(t.i32, W_WATCHERS) > 0) t.region.bumpFreed();
    if (list !== undefined) {
      tellSettled(list, this, to === RELEASED, cell.cost, spent, back, available, leaked);
    }
    return true;
  }

  /**
   * The child under `key`, made in the shared memory on first use (by any thread) from the
   * template of the level below.
   *
   * @param key - a tenant id: any string, compared byte for byte (it is data, never syntax).
   * @param overrides - a capacity for this child other than its template's; applied to an
   * existing child too, for every thread.
   * @returns the child node.
   * @throws BudgetError `INVALID_ARGUMENT` for a key that is not a string, a node with no
   * template for children, or a capacity below what the child holds; `INVALID_AMOUNT` for a
   * bad capacity; `BACKEND` when the tree has `maxNodes` nodes or its keys fill
   * `maxKeyBytes`.
   */
  child(key: string, overrides?: { readonly capacity?: number }): SharedHierarchyNode {
    if (typeof key !== 'string') {
      throw invalid(`a tenant key must be a string, got ${describe(key)}`, { key });
    }
    if (overrides !== undefined && (typeof overrides !== 'object' || overrides === null)) {
      throw invalid(`child overrides must be an object, got ${describe(overrides)}`, { key });
    }
    const capacity = overrides?.capacity;
    if (capacity !== undefined) assertAmount(capacity, 'capacity');
    const known = this.kids?.get(key);
    if (known !== undefined && capacity === undefined) return known;
    const t = this.tree;
    if (this.depth + 1 >= t.levels) {
      throw invalid(`node at depth ${this.depth} has no template for children`, {
        path: this.path,
        key,
      });
    }
    if (t.catchUp !== undefined && capacity !== undefined) t.catchUp();
    const index = t.childIndex(this.index, key, capacity, this.path);
    const node = known ?? new SharedHierarchyNode(t, this, key, index);
    if (known === undefined) (this.kids ??= new Map()).set(key, node);
    return node;
  }

  /**
   * The descendant at `keys`, each level made on first use.
   *
   * @param keys - one key per level below this node.
   * @returns the node at the end of the path.
   */
  at(...keys: string[]): SharedHierarchyNode {
    let n: SharedHierarchyNode = this;
    for (const k of keys) n = n.child(k);
    return n;
  }

  /**
   * Whether a child under `key` was made (by any thread). Makes nothing.
   *
   * @param key - a tenant id.
   * @returns `true` when the child exists.
   */
  has(key: string): boolean {
    if (typeof key !== 'string') {
      throw invalid(`a tenant key must be a string, got ${describe(key)}`, { key });
    }
    return this.kids?.has(key) === true || hasChild(this.tree, this.index, key);
  }

  /** The keys of the children made so far, by any thread. */
  keys(): string[] {
    return childKeys(this.tree, this.index);
  }
}
