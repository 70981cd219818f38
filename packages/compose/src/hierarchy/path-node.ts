import { assertAmount, watchLeak } from '@budgetry/core';
import { keysOf, tell } from './listeners.js';
import type { HierarchyNode } from './node.js';
import { HierarchyPermit, PermitCell } from './permit.js';
import { ResidentNode } from './resident-node.js';
import { EVICTED } from './types.js';

/**
 * @internal What every node of a hierarchy does along its path to the root: charge units on
 * the whole path or none, give them back, read what is held and free, standing in for its
 * twin in memory when it is a handle not in memory ({@link ResidentNode}).
 * {@link HierarchyNode} adds the tree around it.
 *
 * The hot path reads and writes only `room` per level, and `countHeld` on the node itself.
 * A handle not in memory has both at `EVICTED`: no cost fits a room of `EVICTED`, and none is
 * at most a holding of `EVICTED`, so such a handle always leaves the fast path at its first
 * check. A due refill of a scheduled tree is applied first, before the handle is resolved:
 * the refill may evict it.
 */
export abstract class PathNode extends ResidentNode {
  /** This node's capacity (its template's, unless overridden). */
  get capacity(): number {
    const n: PathNode = this.twin() ?? this;
    return n.frame.capacity;
  }

  /**
   * Whether this handle stands for no node in memory: its node was evicted, or, under
   * `evictOnIdle`, it has not reserved anything yet. It still works, through its live twin.
   */
  get evicted(): boolean {
    return this.room === EVICTED;
  }

  /** Units held by this node and its subtree. */
  held(): number {
    this.caughtUp();
    return this.twin()?.heldHere() ?? 0;
  }

  /** Units held by this node itself (count API and permits), not by its children. */
  ownHeld(): number {
    this.caughtUp();
    const n = this.twin();
    if (n === undefined) return 0;
    let own = n.heldHere();
    const kids = n.frame.kids;
    if (kids !== undefined) for (const k of kids.values()) own -= k.heldHere();
    return own;
  }

  /**
   * The most this node could ever grant: the smallest capacity on its path, since children
   * may be given more than their parent. Waiting lines use it to fail at once for a cost
   * that can never fit.
   *
   * @returns units.
   */
  pathCapacity(): number {
    return this.pathMin(false);
  }

  /** Units that can be reserved on this node right now: the tightest room on its path. */
  available(): number {
    this.caughtUp();
    return Math.max(this.pathMin(true), 0);
  }

  /**
   * Reserve `cost` on this node and every ancestor, or on none.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when the whole path had room.
   */
  tryReserveSync(cost: number): boolean {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    if (this.anyScheduled) this.caughtUp();
    const full = this.chargePath(cost);
    if (full !== null) return this.reserveAttached(cost, full);
    this.countHeld += cost;
    if (this.anyListened && this.frame.level.listeners !== undefined) this.reported(cost, null);
    if (cost === 0) this.dropIfIdle();
    return true;
  }

  /**
   * Return `cost` units reserved on this node with the count API, to it and every ancestor.
   * Units beyond what this node's count API holds are ignored.
   *
   * @param cost - a non-negative safe integer.
   */
  releaseSync(cost: number): void {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    if (this.anyScheduled) this.caughtUp();
    const counted = this.countHeld;
    if (cost > counted) {
      this.releaseClamped(cost); // more than held, or not in memory
      return;
    }
    this.countHeld = counted - cost;
    this.unhold(cost);
    if (this.anyListened && this.frame.level.listeners !== undefined) {
      this.settled(true, cost, 0, cost, false);
    }
  }

  /** @internal Returns `cost` units to this node's path; evicts it if idle and asked to. */
  unhold(cost: number): void {
    this.room += cost;
    const up = this.parent;
    if (up !== null) {
      up.room += cost;
      for (let a = up.parent; a !== null; a = a.parent) a.room += cost;
    }
    if (this.anyEvicting && this.frame.level.evictOnIdle) this.evictSelf();
  }

  /**
   * @internal Tells the tree's listeners, if there are any, that `cost` units reserved here
   * were released (or committed, keeping `used`), `refunded` of them coming back; a leak is
   * reported as its release, then as a leak, as core's budgets report theirs.
   */
  settled(release: boolean, cost: number, used: number, refunded: number, leak: boolean): void {
    const list = this.level.tree.listeners;
    if (list === undefined) return;
    const budget = undefined;
    const path = keysOf(this);
    if (release) {
      const available = Math.max(this.pathMin(true), 0);
      tell(list, { type: 'release', budget, cost, refunded, available, path });
    } else {
      tell(list, { type: 'commit', budget, cost, used, refunded, path });
    }
    if (leak) tell(list, { type: 'leak', budget, amount: cost, refunded, path });
  }

  /**
   * @internal Tells the listeners on this node and its ancestors, if there are any, that a
   * reservation of `cost` made through this node was granted (`full` is `null`) or denied by
   * `full`.
   */
  reported(cost: number, full: PathNode | null): void {
    const list = this.level.tree.listeners;
    if (list === undefined) return;
    const path = keysOf(this);
    const available = Math.max(this.pathMin(true), 0);
    const budget = undefined;
    tell(
      list,
      full === null
        ? { type: 'reserve', budget, cost, available, path }
        : { type: 'deny', budget, cost, available, path, deniedBy: keysOf(full) },
      true,
    );
  }

  /** Reserves `cost` as a permit; returns it, or the node on the path that had no room. */
  protected acquire(cost: number): HierarchyPermit | HierarchyNode {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    if (this.anyScheduled) this.caughtUp();
    let n: PathNode = this;
    if (n.room === EVICTED) n = n.live();
    const full = n.chargePath(cost);
    if (full !== null) {
      if (n.anyListened && n.frame.level.listeners !== undefined) n.reported(cost, full);
      n.dropIfIdle(); // attached by this call: not kept for a denial
      return full.self();
    }
    const tree = n.frame.level.tree;
    const cell = new PermitCell(n, cost, tree.epoch);
    const permit = new HierarchyPermit(cell);
    if (tree.backstop) watchLeak(permit, cell);
    if (n.anyListened && n.frame.level.listeners !== undefined) n.reported(cost, null);
    if (cost === 0) n.dropIfIdle(); // holds nothing: not kept in memory for it
    return permit;
  }

  /**
   * Takes `cost` from the room of this node and every ancestor, or from none, and returns the
   * first node on the path without room (`null`: charged). This node and its parent are
   * checked, the rest of the path charged ({@link PathNode.chargeAbove}), and only then are
   * the two charged: a tenant under the root, the common case, is two checks and two writes.
   * A pure walk over numbers: nothing in it can throw halfway. A handle not in memory is the
   * first node without room (see `EVICTED`), with nothing taken.
   */
  private chargePath(cost: number): PathNode | null {
    const room = this.room;
    if (room < cost) return this;
    const up = this.parent;
    if (up !== null) {
      const upRoom = up.room;
      if (upRoom < cost) return up;
      const top = up.parent;
      if (top !== null) {
        const full = top.chargeAbove(cost);
        if (full !== null) return full;
      }
      up.room = upRoom - cost;
    }
    this.room = room - cost;
    return null;
  }

  /**
   * {@link PathNode.chargePath} for the path from this node up, in one optimistic pass: at the
   * first node without room, gives back what it took below it and returns that node.
   */
  private chargeAbove(cost: number): PathNode | null {
    let a: PathNode | null = this;
    for (; a !== null; a = a.parent) {
      const room = a.room;
      if (room < cost) break;
      a.room = room - cost;
    }
    if (a === null) return null;
    for (let b: PathNode = this; b !== a; b = b.parent!) b.room += cost;
    return a;
  }

  /**
   * The count reservation after the fast pass was denied: on a handle not in memory, attach
   * it (or find its twin) and try there; a node attached by this call is not kept for a
   * denial or a zero cost.
   */
  private reserveAttached(cost: number, full: PathNode): boolean {
    if (this.room !== EVICTED) {
      // A node in memory: a real denial, by `full`.
      if (this.anyListened && this.frame.level.listeners !== undefined) this.reported(cost, full);
      return false;
    }
    const n = this.live();
    const denied = n.chargePath(cost);
    const granted = denied === null;
    if (granted) n.countHeld += cost;
    if (n.anyListened && n.frame.level.listeners !== undefined) n.reported(cost, denied);
    if (!granted || cost === 0) n.dropIfIdle();
    return granted;
  }

  /** The count release of more than this handle's count API holds, or of a handle not in memory. */
  private releaseClamped(cost: number): void {
    const n = this.room === EVICTED ? this.twin() : this.self();
    // Clamped so a double release can never free units that another holder reserved; the
    // excess is counted, tree-wide, so it costs no memory per tenant. Nothing in memory
    // holds anything for a handle without a twin.
    const accepted = n === undefined ? 0 : Math.min(cost, n.countHeld);
    this.overRelease(cost - accepted);
    if (n !== undefined) {
      n.countHeld -= accepted;
      n.unhold(accepted);
    }
    // A zero release on a handle nothing in memory stands for changed nothing: not told.
    if (this.anyListened && this.frame.level.listeners !== undefined && (n || cost !== 0)) {
      this.settled(true, cost, 0, accepted, false);
      if (accepted !== cost) this.reportExcess(cost, accepted);
    }
  }

  /** Tells the tree's listeners the count API ignored `cost − accepted` units released here. */
  private reportExcess(cost: number, accepted: number): void {
    const list = this.level.tree.listeners;
    if (list === undefined) return;
    const excess = cost - accepted;
    const path = keysOf(this);
    tell(list, {
      type: 'over-release',
      budget: undefined,
      requested: cost,
      accepted,
      excess,
      path,
    });
  }

  /**
   * The smallest room (or capacity) on the path. A handle not in memory stands for its twin,
   * or for an idle node at its template's capacity when it has none.
   */
  private pathMin(room: boolean): number {
    let min = Number.MAX_SAFE_INTEGER;
    let a: PathNode | null = this;
    while (a !== null && a.room === EVICTED) {
      const twin = a.twin();
      if (twin !== undefined) {
        a = twin;
        break;
      }
      min = Math.min(min, a.frame.capacity);
      a = a.parent;
    }
    for (; a !== null; a = a.parent) min = Math.min(min, room ? a.room : a.frame.capacity);
    return min;
  }
}
