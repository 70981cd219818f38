import { SyncGuardBase } from '../budgets/sync-twins.js';
import { type SharedHierarchyListener, subscribeTo } from './hierarchy-events.js';
import { E_NODE, N_CAP, N_EPOCH, N_HELD, N_KIDS, N_OWN } from './hierarchy-layout.js';
import type { HierarchyTree } from './hierarchy-tree.js';
import { HF_DUE, S_EPOCH, S_LEAKS, S_OVER_RELEASED } from './layout.js';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * @internal What every node handle of a shared hierarchy knows of its place in the memory —
 * the Float64 index of each node on its path, its hold record — and the reads, each under the
 * lock, and the listeners. `SharedHierarchyNode` adds the critical sections that change the
 * tree.
 */
export abstract class HierarchyNodeReads extends SyncGuardBase {
  /** @internal The node's index in the shared node table. */
  readonly index: number;
  /** @internal The handle's view of the tree. */
  protected readonly tree: HierarchyTree;
  // Float64 index of each node on the path, this one first; unused slots: the scratch node.
  protected readonly p0: number;
  protected readonly p1: number;
  protected readonly p2: number;
  protected readonly p3: number;
  protected readonly p4: number;
  /** Float64 index of this handle's hold record for the node, if it is still that. */
  private hint = -1;

  constructor(tree: HierarchyTree, index: number, parent: HierarchyNodeReads | null) {
    super();
    this.tree = tree;
    this.index = index;
    const s = tree.scratch;
    this.p0 = tree.layout.nodeF64(index);
    this.p1 = parent === null ? s : parent.p0;
    this.p2 = parent === null ? s : parent.p1;
    this.p3 = parent === null ? s : parent.p2;
    this.p4 = parent === null ? s : parent.p3;
  }

  /** This node's capacity: its template's, unless overridden. */
  get capacity(): number {
    return this.read(() => this.tree.f64[this.p0 + N_CAP]!);
  }

  /** The tree's refill epoch: 0, then one more per refill of the root. */
  get epoch(): number {
    return this.read(() => this.tree.f64[S_EPOCH]!);
  }

  /** Children made so far (by any thread). */
  get size(): number {
    return this.read(() => this.tree.i32[this.tree.layout.nodeI32(this.index) + N_KIDS]!);
  }

  /** Units held by this node and its subtree, across all threads. */
  held(): number {
    return this.read(() => this.live(this.p0, N_HELD));
  }

  /** Units held by this node itself (count API, permits, commits), not by its children. */
  ownHeld(): number {
    return this.read(() => this.live(this.p0, N_OWN));
  }

  /** Units that can be reserved on this node right now: the tightest room on its path. */
  available(): number {
    return this.read(() => this.roomNow());
  }

  /** The most this node could ever grant: the smallest capacity on its path. */
  pathCapacity(): number {
    return this.read(() => this.pathMin(false));
  }

  /** Count-API units released beyond what a node held (and ignored), tree-wide. */
  overReleased(): number {
    return this.read(() => this.tree.f64[S_OVER_RELEASED]!);
  }

  /** Permits of this tree garbage-collected while held, in any thread. */
  leaks(): number {
    return this.read(() => this.tree.f64[S_LEAKS]!);
  }

  /**
   * With the lock held: this handle's hold record for the node (made with `make`, else
   * `-1` when it has none). The last one found is remembered.
   */
  protected record(epoch: number, make: boolean): number {
    const f = this.tree.f64;
    const hint = this.hint;
    if (hint >= 0 && f[hint + E_NODE] === this.index + 1 && (!make || f[hint + 1] === epoch)) {
      return hint;
    }
    const e = make ? this.tree.holdFor(this.index, epoch) : this.tree.findHold(this.index);
    if (e >= 0) this.hint = e;
    return e;
  }

  /** With the lock held: brings every node on the path into `epoch` (see `freshen`). */
  protected freshenPath(epoch: number): void {
    const t = this.tree;
    const f = t.f64;
    if (f[this.p0 + N_EPOCH] !== epoch) t.freshen(this.p0, epoch);
    if (f[this.p1 + N_EPOCH] !== epoch) t.freshen(this.p1, epoch);
    if (f[this.p2 + N_EPOCH] !== epoch) t.freshen(this.p2, epoch);
    if (f[this.p3 + N_EPOCH] !== epoch) t.freshen(this.p3, epoch);
    if (f[this.p4 + N_EPOCH] !== epoch) t.freshen(this.p4, epoch);
  }

  /**
   * With the lock held: what can be reserved on this node once the nodes of its path hold
   * `h0` … `h4` (this node first), for the listeners.
   */
  protected roomAfter(h0: number, h1: number, h2: number, h3: number, h4: number): number {
    const f = this.tree.f64;
    const r0 = f[this.p0 + N_CAP]! - h0;
    const r1 = f[this.p1 + N_CAP]! - h1;
    const r2 = f[this.p2 + N_CAP]! - h2;
    const r3 = f[this.p3 + N_CAP]! - h3;
    const r4 = f[this.p4 + N_CAP]! - h4;
    return Math.max(Math.min(r0, r1, r2, r3, r4), 0);
  }

  /** With the lock held: what can be reserved on this node now. */
  protected roomNow(): number {
    return Math.max(this.pathMin(true), 0);
  }

  /** With the lock held: field `field` of the node at `p`, 0 if a refill fenced it off. */
  private live(p: number, field: number): number {
    const f = this.tree.f64;
    return f[p + N_EPOCH] === f[S_EPOCH] ? f[p + field]! : 0;
  }

  /** With the lock held: the smallest room (or capacity) on the path. */
  private pathMin(room: boolean): number {
    const f = this.tree.f64;
    let min = MAX;
    for (const p of [this.p0, this.p1, this.p2, this.p3, this.p4]) {
      if (p === this.tree.scratch) break;
      min = Math.min(min, f[p + N_CAP]! - (room ? this.live(p, N_HELD) : 0));
    }
    return min;
  }

  /** Runs `get` under the lock, after a due refill. */
  protected read<T>(get: () => T): T {
    const t = this.tree;
    if (t.catchUp !== undefined) t.catchUp();
    if (t.f64[HF_DUE] !== Number.POSITIVE_INFINITY) t.refills?.catchUpDue();
    t.lock();
    const value = get();
    t.unlock();
    return value;
  }

  protected unlock(): void {
    this.tree.unlock();
  }

  /**
   * Be told of what is done through this handle: the same events, with the same `path`, as
   * compose's `hierarchy()` nodes report (see {@link SharedHierarchyEvent}). Listeners belong
   * to the handle, that is to its thread: what other threads (or other handles opened in this
   * one) do is told to their own handles' listeners, never to these. A listener hears:
   *
   * - `reserve` and `deny` for every reservation made through this node or a node below it
   *   (every one that charges, or would have charged, this node); on the root, all of them.
   * - `release`, `commit` (with what it `refunded`), `leak` and `over-release` (a count release
   *   of more than the node's count API held, after its `release`) on any node, and the
   *   `refill`s made through this handle: a release on a sibling frees room on the path the two
   *   share. Filter on `path` for this node's own.
   *
   * Every event is told after the fact, once the tree's lock is released, with `budget` left
   * `undefined`. A handle with no listener checks one field per operation. A listener that
   * throws stops neither the others nor the operation: its error becomes a
   * `BudgetryObserverWarning`.
   *
   * @param listener - called with each event, synchronously.
   * @returns a function that removes this subscription, and only it (calling it again does
   * nothing), even when the same listener was added more than once.
   * @throws BudgetError `INVALID_ARGUMENT` when `listener` is not a function.
   *
   * @example
   * ```ts
   * import { SharedHierarchy } from '@budgetry/core';
   *
   * const root = new SharedHierarchy({ capacity: 100, children: { capacity: 10 } });
   * const stop = root.subscribe((event) => {
   *   if (event.type === 'deny') console.log(`${event.path[0]} was denied ${event.cost}`);
   *   if (event.type === 'release') console.log(`${event.refunded} units came back`);
   * });
   * root.child('acme').tryReserveSync(50); // acme was denied 50
   * if (root.child('acme').tryReserveSync(5)) root.child('acme').releaseSync(5); // 5 units came back
   * stop();
   * root.close();
   * ```
   */
  subscribe(listener: SharedHierarchyListener): () => void {
    return subscribeTo(this.tree, this.index, listener);
  }

  /**
   * Be told when units may have come free anywhere in this tree, through any handle in any
   * thread (releases, commits, refills, reclaims, closing); see `SharedBudget.watchFreed`.
   *
   * @param listener - called later, in this thread, with no argument.
   * @returns a function that removes the listener.
   * @example
   * ```ts
   * import { SharedHierarchy } from '@budgetry/core';
   *
   * const root = new SharedHierarchy({ capacity: 100, children: { capacity: 10 } });
   * const stop = root.child('acme').watchFreed(() => console.log('acme may fit more'));
   * stop();
   * root.close();
   * ```
   */
  watchFreed(listener: () => void): () => void {
    return this.tree.region.watchFreed(listener);
  }
}
