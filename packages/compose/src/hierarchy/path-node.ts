import { assertAmount, SyncGuardBase, watchLeak } from '@budgetry/core';
import { tell } from './listeners.js';
import type { HierarchyNode } from './node.js';
import { HierarchyPermit, PermitCell } from './permit.js';
import { EVICTED, type Level } from './types.js';

/**
 * @internal What every node of a hierarchy does along its path to the root: charge units on
 * the whole path or none, give them back, read what is held and free, and stand in for its
 * live twin once it is not in memory. {@link HierarchyNode} adds the tree around it.
 *
 * A handle not in memory has `heldUnits === EVICTED`: it was evicted, or `child()` handed it
 * out under `evictOnIdle` before it reserved anything. Reads resolve it to its twin in memory
 * without creating one ({@link PathNode.twin}); reservations attach it
 * ({@link PathNode.live}) and, when they leave it idle (a denial, a zero cost), drop it again.
 * A due refill of a scheduled tree is applied first, before the handle is resolved: the
 * refill may evict it.
 */
export abstract class PathNode extends SyncGuardBase {
  /** The parent, or `null` at the root. */
  readonly parent: HierarchyNode | null;
  /** The key under which the parent holds this node (`''` at the root). */
  readonly key: string;
  /** @internal */
  readonly level: Level;
  protected cap: number;
  /** Units held by this node and its subtree, or {@link EVICTED}. */
  protected heldUnits = 0;
  protected countHeld = 0;
  protected kids: Map<string, HierarchyNode> | undefined = undefined;
  /**
   * @internal Whether any tree in the process has followed a schedule. It lives on the
   * prototype and is set once, by the first `followSchedule`: until then it is a constant the
   * JIT folds away, so the operations of trees that follow none check nothing.
   */
  declare readonly anyScheduled: boolean;
  /**
   * @internal Whether any tree in the process has had a listener (`subscribe`): set once, on
   * the prototype, like {@link PathNode.anyScheduled}, so that until then releases and
   * settling permits check nothing for listeners.
   */
  declare readonly anyListened: boolean;

  /** @internal Use {@link hierarchy} and {@link HierarchyNode.child}. */
  constructor(parent: HierarchyNode | null, key: string, level: Level, capacity: number) {
    super();
    this.parent = parent;
    this.key = key;
    this.level = level;
    this.cap = capacity;
  }

  /** This node's capacity (its template's, unless overridden). */
  get capacity(): number {
    const n: PathNode = this.twin() ?? this;
    return n.cap;
  }

  /**
   * Whether this handle stands for no node in memory: its node was evicted, or, under
   * `evictOnIdle`, it has not reserved anything yet. It still works, through its live twin.
   */
  get evicted(): boolean {
    return this.heldUnits === EVICTED;
  }

  /** Units held by this node and its subtree. */
  held(): number {
    this.caughtUp();
    return this.twin()?.heldUnits ?? 0;
  }

  /** Units held by this node itself (count API and permits), not by its children. */
  ownHeld(): number {
    this.caughtUp();
    const n = this.twin();
    if (n === undefined) return 0;
    let own = n.heldUnits;
    if (n.kids !== undefined) for (const k of n.kids.values()) own -= k.heldUnits;
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
    let n: PathNode = this;
    if (n.heldUnits === EVICTED) n = n.live();
    const full = n.chargePath(cost);
    if (full !== null) {
      if (n.heldUnits === 0) n.dropIfIdle(); // attached by this call: not kept for a denial
      return false;
    }
    n.countHeld += cost;
    if (cost === 0) n.dropIfIdle();
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
    let n: PathNode | undefined = this;
    if (n.heldUnits === EVICTED) {
      n = n.twin();
      if (n === undefined) {
        this.overRelease(cost); // nothing in memory holds anything
        return;
      }
    }
    // Clamped so a double release can never free units that another holder reserved; the
    // excess is counted, tree-wide, so it costs no memory per tenant.
    let accepted = cost;
    if (cost > n.countHeld) {
      accepted = n.countHeld;
      n.overRelease(cost - accepted);
    }
    n.countHeld -= accepted;
    n.unhold(accepted);
    if (this.anyListened && this.level.listeners !== undefined) {
      this.settled(true, cost, 0, accepted, false);
    }
  }

  /** @internal Returns `cost` units to this node's path; evicts it if idle and asked to. */
  unhold(cost: number): void {
    for (let a: PathNode | null = this; a !== null; a = a.parent) a.heldUnits -= cost;
    if (this.level.evictOnIdle && this.heldUnits === 0) this.evictSelf();
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
    if (release) {
      const available = Math.max(this.pathMin(true), 0);
      tell(list, { type: 'release', budget, cost, refunded, available });
    } else {
      tell(list, { type: 'commit', budget, cost, used, refunded });
    }
    if (leak) tell(list, { type: 'leak', budget, amount: cost, refunded });
  }

  /** Reserves `cost` as a permit; returns it, or the node on the path that had no room. */
  protected acquire(cost: number): HierarchyPermit | HierarchyNode {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    if (this.anyScheduled) this.caughtUp();
    let n: PathNode = this;
    if (n.heldUnits === EVICTED) n = n.live();
    const full = n.chargePath(cost);
    if (full !== null) {
      if (n.heldUnits === 0) n.dropIfIdle(); // attached by this call: not kept for a denial
      return full as HierarchyNode;
    }
    const tree = n.level.tree;
    const cell = new PermitCell(n, cost, tree.epoch);
    const permit = new HierarchyPermit(cell);
    if (tree.backstop) watchLeak(permit, cell);
    if (cost === 0) n.dropIfIdle(); // holds nothing: not kept in memory for it
    return permit;
  }

  /**
   * Adds `cost` to this node and every ancestor in one optimistic pass; at the first node
   * without room, takes back what it added below it and returns that node (`null`: charged).
   * A pure walk over numbers: nothing in it can throw halfway.
   */
  private chargePath(cost: number): PathNode | null {
    let a: PathNode | null = this;
    for (; a !== null; a = a.parent) {
      const held = a.heldUnits + cost;
      if (held > a.cap) break;
      a.heldUnits = held;
    }
    if (a === null) return null;
    for (let b: PathNode = this; b !== a; b = b.parent!) b.heldUnits -= cost;
    return a;
  }

  /** Applies a due refill of a scheduled tree; see `HierarchyNode.followSchedule`. */
  protected caughtUp(): void {
    if (!this.anyScheduled) return;
    const catchUp = this.level.catchUp;
    if (catchUp !== undefined) catchUp();
  }

  /** The node this handle stands for, in memory, or `undefined` if none is. Never creates one. */
  protected twin(): HierarchyNode | undefined {
    if (this.heldUnits !== EVICTED) return this.self();
    // parent is non-null: the root is never evicted.
    return this.parent!.twin()?.kids?.get(this.key);
  }

  /** The node this handle stands for, in memory: itself, its twin, or itself attached again. */
  protected live(): HierarchyNode {
    if (this.heldUnits !== EVICTED) return this.self();
    const p = this.parent!.live();
    let kids = p.kids;
    if (kids === undefined) kids = p.kids = new Map();
    let node = kids.get(this.key);
    if (node === undefined) {
      // Out of memory, a node is idle at its template's capacity with no children (or it
      // would not have been dropped): under the same parent the handle itself can be the node
      // again; under a parent that was itself dropped and replaced, a twin is made.
      if (this.parent === p) {
        this.heldUnits = 0;
        node = this.self();
      } else {
        node = this.twinUnder(p);
      }
      kids.set(this.key, node);
    }
    return node;
  }

  /** This node as what it is: every node is a {@link HierarchyNode}. */
  protected self(): HierarchyNode {
    return this as unknown as HierarchyNode;
  }

  /** A fresh node for this handle's key under `parent`, at its template's capacity. */
  protected abstract twinUnder(parent: HierarchyNode): HierarchyNode;

  /** Idle: nothing held, its template's capacity, no children (the root is never dropped). */
  protected isIdle(): boolean {
    return this.heldUnits === 0 && this.kids === undefined && this.cap === this.level.capacity;
  }

  /** Under `evictOnIdle`, drops this node if an operation left it idle. */
  protected dropIfIdle(): void {
    if (this.level.evictOnIdle) this.evictSelf();
  }

  /** Removes an idle node, then any ancestor left idle, from their parents' maps. */
  protected evictSelf(): void {
    let n: PathNode = this;
    while (n.parent !== null && n.isIdle()) {
      const p: PathNode = n.parent;
      p.kids?.delete(n.key);
      if (p.kids?.size === 0) p.kids = undefined;
      n.heldUnits = EVICTED;
      n = p;
    }
  }

  protected clearSubtree(): void {
    this.heldUnits = 0;
    this.countHeld = 0;
    if (this.kids !== undefined) for (const k of this.kids.values()) k.clearSubtree();
  }

  /** Counts units released beyond what was held: a running total that saturates. */
  protected overRelease(units: number): void {
    const tree = this.level.tree;
    tree.overReleased = Math.min(tree.overReleased + units, Number.MAX_SAFE_INTEGER);
  }

  /**
   * The smallest room (or capacity) on the path. A handle not in memory stands for its twin,
   * or for an idle node at its template's capacity when it has none.
   */
  private pathMin(room: boolean): number {
    let min = Number.MAX_SAFE_INTEGER;
    let a: PathNode | null = this;
    while (a !== null && a.heldUnits === EVICTED) {
      const twin = a.twin();
      if (twin !== undefined) {
        a = twin;
        break;
      }
      min = Math.min(min, a.cap);
      a = a.parent;
    }
    for (; a !== null; a = a.parent) min = Math.min(min, room ? a.cap - a.heldUnits : a.cap);
    return min;
  }
}

Object.defineProperty(PathNode.prototype, 'anyScheduled', { value: false, writable: true });
Object.defineProperty(PathNode.prototype, 'anyListened', { value: false, writable: true });

/** @internal Called by the first `followSchedule`; never undone (see `anyScheduled`). */
export function markScheduled(): void {
  (PathNode.prototype as { anyScheduled: boolean }).anyScheduled = true;
}

/** @internal Called by the first `subscribe`; never undone (see `anyListened`). */
export function markListened(): void {
  (PathNode.prototype as { anyListened: boolean }).anyListened = true;
}
