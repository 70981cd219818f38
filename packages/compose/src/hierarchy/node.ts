import type {
  BudgetCapabilities,
  Decision,
  SyncBudgetGuard,
  SyncBudgetPermit,
} from '@budgetry/core';
import { assertAmount } from '@budgetry/core';
import { describe, invalid } from '../internal/member-list.js';
import { Frame } from './frame.js';
import { type HierarchyListener, keysOf, setListeners, tell } from './listeners.js';
import { PathNode } from './path-node.js';
import { HierarchyPermit } from './permit.js';
import { markListened, markScheduled } from './resident-node.js';
import { CHILD_CAPABILITIES, type Level, ROOT_CAPABILITIES } from './types.js';

/**
 * One budget in a {@link hierarchy}: the root, an org, a team, a user, a key. A reservation
 * on a node charges it and every ancestor up to the root, atomically; a denial anywhere
 * rolls back all of it. `held()` counts the node's own reservations plus its subtree's, so
 * `Σ children held + own held = held ≤ capacity` at every node.
 *
 * Nodes are compact on purpose (five fields and a map entry, no closures: about 95 bytes
 * per idle tenant plus its key, measured at a million), and can be evicted when idle. A
 * handle to an evicted node stays usable: it finds (or recreates) its live twin by key.
 * Under `evictOnIdle` only nodes that hold something stay in memory: `child(key)` hands out
 * such a handle, which enters memory when it reserves and leaves when it holds nothing again.
 *
 * @example
 * ```ts
 * import { hierarchy } from '@budgetry/compose';
 *
 * const root = hierarchy({ capacity: 100, children: { capacity: 40, children: { capacity: 10 } } });
 * const key = root.at('org-1', 'user-7');
 * using permit = key.tryAcquireSync(5); // charges user-7, org-1 and the root
 * console.log(root.held(), root.child('org-1').ownHeld()); // 5 0
 * ```
 */
export class HierarchyNode extends PathNode implements SyncBudgetGuard {
  /** Depth in the tree: 0 at the root. */
  get depth(): number {
    return this.level.depth;
  }

  /** Keys from the root down to this node (empty at the root). */
  get path(): string[] {
    return keysOf(this);
  }

  /** Live children in memory. */
  get size(): number {
    this.caughtUp();
    return this.twin()?.frame.kids?.size ?? 0;
  }

  /** The tree's refill epoch: 0, then one more per {@link HierarchyNode.refill}. */
  get epoch(): number {
    this.caughtUp();
    return this.level.tree.epoch;
  }

  /**
   * Synchronous, pool count release, partial commit, `reset` epochs, a retry hint (see
   * {@link HierarchyNode.retryAfterMs}); only the root is schedulable (a child's epochs are
   * the root's).
   */
  get capabilities(): BudgetCapabilities {
    return this.parent === null ? ROOT_CAPABILITIES : CHILD_CAPABILITIES;
  }

  /** What {@link HierarchyNode.refill} does: always `reset` for a hierarchy. */
  get refillPolicy(): 'reset' {
    return 'reset';
  }

  /**
   * Begin a new epoch for the whole tree (root only): every node starts empty, and permits
   * and count reservations from before are fenced off, so releasing them later returns
   * nothing. Committed units come back here. Drive it from a schedule with
   * `intervalRefill(root, …)`, `calendarRefill(root, …)` or `lazyRefill(root, …)`: the root
   * follows the schedule (see {@link HierarchyNode.followSchedule}), so every node, used
   * directly or not, is in the epoch the clock is in.
   *
   * Listeners added with {@link HierarchyNode.subscribe} hear of it after the fact.
   *
   * @throws BudgetError `INVALID_ARGUMENT` on a node other than the root, which would break
   * its ancestors' sums.
   */
  refill(): void {
    if (this.parent !== null) {
      throw invalid('refill() applies to the root of a hierarchy only', { path: this.path });
    }
    const tree = this.level.tree;
    tree.epoch++;
    this.clearSubtree();
    if (this.level.evictOnIdle) this.sweep();
    const list = tree.listeners;
    if (list !== undefined) {
      const epoch = tree.epoch;
      tell(list, {
        type: 'refill',
        budget: undefined,
        epoch,
        policy: 'reset',
        available: this.frame.capacity,
        path: [],
      });
    }
  }

  /**
   * Be told of what happens through this node, and of everything that can free room on its
   * path. Each event is a {@link HierarchyEvent}: core's event plus the `path` of the node it
   * was made through (and on a denial, `deniedBy`), so one listener on the root can tell
   * tenants apart. A listener hears:
   *
   * - `reserve` and `deny` for every reservation made through this node or a node below it:
   *   every one that charges (or would have charged) this node. The root's listeners hear
   *   them all; a tenant's, its own and its sub-tenants'.
   * - `release`, `commit` (with what it `refunded`), `leak` and `over-release` on any node of
   *   the tree, and the tree's `refill`s: a release on a sibling frees room on the path the
   *   two share, so waiting lines over a tenant must hear it. Filter on `path` for this
   *   node's own.
   *
   * Every event is told after the fact, with `budget` left `undefined`. Nobody listening
   * costs nothing: until a tree in the process has a listener, operations check nothing for
   * one, and after, a tree with none checks one field. A listener that throws stops neither
   * the others nor the operation: its error is reported as a process warning of type
   * `BudgetryObserverWarning`.
   *
   * @param listener - called with each event, synchronously.
   * @returns a function that removes this subscription, and only it (calling it again does
   * nothing), even when the same listener was added more than once.
   * @throws BudgetError `INVALID_ARGUMENT` when `listener` is not a function.
   *
   * @example
   * ```ts
   * import { hierarchy } from '@budgetry/compose';
   *
   * const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
   * const acme = root.child('acme');
   * const stop = root.subscribe((event) => {
   *   if (event.type === 'deny') console.log(`${event.path[0]} was denied ${event.cost}`);
   *   if (event.type === 'refill') console.log(`epoch ${event.epoch}: every tenant is empty`);
   * });
   * acme.tryReserveSync(50); // acme was denied 50
   * root.refill(); // epoch 1: every tenant is empty
   * stop();
   * ```
   */
  subscribe(listener: HierarchyListener): () => void {
    if (typeof listener !== 'function') {
      throw invalid(`a hierarchy listener must be a function, got ${describe(listener)}`, {});
    }
    let root: HierarchyNode = this;
    while (root.parent !== null) root = root.parent;
    const level = root.level;
    const mine = { listener, path: keysOf(this) };
    setListeners(level, [...(level.tree.listeners ?? []), mine]);
    markListened();
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const rest = (level.tree.listeners ?? []).filter((s) => s !== mine);
      setListeners(level, rest.length === 0 ? undefined : rest);
    };
  }

  /**
   * Keep the whole tree's epochs in step with a refill schedule (root only): `catchUp` runs
   * at the start of every operation on any node of the tree — reservations, releases, reads,
   * settling a permit — so a tenant used directly still sees the epoch the clock is in, and a
   * permit settles in it. Refill schedulers attach themselves through it; a tree follows one
   * schedule at a time. Until a tree in the process follows one, no operation checks for a
   * schedule; after, each checks its level's.
   *
   * @param catchUp - applies the refills the schedule says are due; called before each operation.
   * @param nextRefill - how long until the schedule's next refill, in milliseconds
   * (`undefined` when none lies ahead): every node's retry hint (the refill schedulers give it).
   * @returns a function that detaches the schedule (calling it twice is harmless).
   * @throws BudgetError `INVALID_ARGUMENT` on a node other than the root, when `catchUp` (or a
   * `nextRefill` given) is not a function, or when the tree already follows a schedule.
   *
   * @example
   * ```ts
   * import { hierarchy } from '@budgetry/compose';
   *
   * const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
   * let due = false;
   * const detach = root.followSchedule(() => {
   *   if (due) {
   *     due = false;
   *     root.refill();
   *   }
   * });
   * root.child('acme').tryReserveSync(10);
   * due = true;
   * console.log(root.child('acme').available()); // 10: the refill was applied first
   * detach();
   * ```
   */
  followSchedule(catchUp: () => void, nextRefill?: () => number | undefined): () => void {
    if (this.parent !== null) {
      throw invalid('followSchedule() applies to the root of a hierarchy only', {
        path: this.path,
      });
    }
    if (typeof catchUp !== 'function') {
      throw invalid(`followSchedule expects a function, got ${describe(catchUp)}`, {});
    }
    if (nextRefill !== undefined && typeof nextRefill !== 'function') {
      throw invalid(`followSchedule expects a function, got ${describe(nextRefill)}`, {});
    }
    const tree = this.level.tree;
    if (tree.schedule !== undefined) {
      throw invalid('this hierarchy already follows a refill schedule; detach it first', {});
    }
    tree.schedule = catchUp;
    tree.nextRefill = nextRefill;
    markScheduled();
    setCatchUp(this.level, catchUp);
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      tree.schedule = undefined;
      tree.nextRefill = undefined;
      setCatchUp(this.level, undefined);
    };
  }

  /**
   * How long until `cost` could be reserved on this node, if nothing else changes: 0 when it
   * fits now; else, when the tree follows a refill schedule that says when its next refill is
   * due, the time until then, since a refill empties every node (for a cost within the
   * smallest capacity on the path); else `undefined`: only releases can make room. Waiting
   * lines and combinators over a tenant of a scheduled tree wake at the refill by it.
   *
   * @param cost - the units wanted.
   * @returns milliseconds, or `undefined` when the tree cannot say.
   */
  retryAfterMs(cost: number): number | undefined {
    assertAmount(cost, 'cost');
    if (this.available() >= cost) return 0;
    const next = this.level.tree.nextRefill;
    return next === undefined || cost > this.pathCapacity() ? undefined : next();
  }

  /**
   * Units the count API was asked to release beyond what a node held (and ignored), summed
   * over the whole tree; the total saturates at `Number.MAX_SAFE_INTEGER`.
   */
  overReleased(): number {
    return this.level.tree.overReleased;
  }

  /** Permits of this tree garbage-collected while held, released by the backstop. */
  leaks(): number {
    return this.level.tree.leaks;
  }

  /**
   * The child under `key`, created from the template on first use. Under `evictOnIdle`, a
   * child that is not in memory is handed out as a handle that enters memory when it
   * reserves, so reads and denials leave nothing behind.
   *
   * @param key - a tenant id: any string (it is data, never syntax).
   * @param overrides - a capacity for this child other than its template's; applied to an
   * existing child too. A change of capacity is no event: a waiting line on the child is
   * served again at its next release, or at once with its `notify()`.
   * @returns the child node.
   * @throws BudgetError `INVALID_ARGUMENT` for a key that is not a string or a node with no
   * template for children; `INVALID_AMOUNT` for a bad capacity.
   */
  child(key: string, overrides?: { readonly capacity?: number }): HierarchyNode {
    if (typeof key !== 'string') {
      throw invalid(`a tenant key must be a string, got ${describe(key)}`, { key });
    }
    if (overrides !== undefined && (typeof overrides !== 'object' || overrides === null)) {
      throw invalid(`child overrides must be an object, got ${describe(overrides)}`, { key });
    }
    const capacity = overrides?.capacity;
    if (capacity !== undefined) assertAmount(capacity, 'capacity');
    const level = this.level.child;
    if (level === undefined) {
      throw invalid(`node at depth ${this.level.depth} has no template for children`, {
        path: this.path,
        key,
      });
    }
    if (capacity !== undefined) this.caughtUp(); // what the child holds is checked below
    const lazy = this.level.evictOnIdle;
    const self = lazy ? (this.twin() ?? this) : this.live();
    let node = self.frame.kids?.get(key);
    if (node === undefined) {
      const template = capacity === undefined || capacity === level.capacity;
      if (lazy && template) {
        // Idle at its template's capacity: nothing to keep in memory until it reserves.
        node = new HierarchyNode(self, key, level.frame);
        node.markEvicted();
        return node;
      }
      const owner = self.live();
      node = new HierarchyNode(owner, key, template ? level.frame : new Frame(capacity, level));
      owner.kidsToFill().set(key, node);
    } else if (capacity !== undefined) {
      // Lowering a capacity below what the child already holds would leave it over capacity.
      const held = node.heldHere();
      if (capacity < held) {
        throw invalid(
          `capacity ${capacity} for '${key}' is below the ${held} units it holds; release them first`,
          { path: self.path, key, capacity, held },
        );
      }
      node.setCapacity(capacity);
      node.dropIfIdle(); // back at its template's capacity with nothing held
    }
    return node;
  }

  /**
   * The descendant at `keys`, each level created on demand.
   *
   * @param keys - one key per level below this node.
   * @returns the node at the end of the path.
   */
  at(...keys: string[]): HierarchyNode {
    let n: HierarchyNode = this;
    for (const k of keys) n = n.child(k);
    return n;
  }

  /**
   * Whether a child is in memory under `key` (evicted or never-used children are not).
   *
   * @param key - a tenant id.
   * @returns `true` when the child exists.
   */
  has(key: string): boolean {
    // A number 5 and the key '5' would otherwise be told apart here and nowhere else.
    if (typeof key !== 'string') {
      throw invalid(`a tenant key must be a string, got ${describe(key)}`, { key });
    }
    this.caughtUp();
    return this.twin()?.frame.kids?.has(key) ?? false;
  }

  /**
   * The children in memory (not evicted ones, nor keys never used).
   *
   * @returns an iterator over live child nodes.
   */
  children(): IterableIterator<HierarchyNode> {
    this.caughtUp();
    return (this.twin()?.frame.kids ?? new Map<string, HierarchyNode>()).values();
  }

  /**
   * Drop idle descendants from memory: nothing held, their template's capacity, no children
   * left. Nothing outstanding is ever lost, because a node holding anything is not idle.
   *
   * @returns how many nodes were evicted.
   */
  evictIdle(): number {
    this.caughtUp();
    return this.twin()?.sweep() ?? 0;
  }

  /**
   * Reserve `cost` on this node and every ancestor as a permit.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or `null` when some node on the path had no room.
   */
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    const r = this.acquire(cost);
    return r instanceof HierarchyPermit ? r : null;
  }

  /**
   * {@link HierarchyNode.tryAcquireSync}, saying which node denied.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or in `deniedBy` the path of the node that had no room (`[]` for the
   * root), with `exceedsCapacity: true` when the cost is above the smallest capacity on this
   * node's path ({@link HierarchyNode.pathCapacity}): only a larger capacity could admit it.
   */
  tryAcquireDetailedSync(cost: number): Decision<readonly string[], SyncBudgetPermit> {
    const r = this.acquire(cost);
    if (r instanceof HierarchyPermit) return { ok: true, permit: r };
    return cost > this.pathCapacity()
      ? { ok: false, deniedBy: r.path, exceedsCapacity: true }
      : { ok: false, deniedBy: r.path };
  }

  /** {@inheritDoc HierarchyNode.tryAcquireDetailedSync} */
  async tryAcquireDetailed(cost: number): Promise<Decision<readonly string[], SyncBudgetPermit>> {
    return this.tryAcquireDetailedSync(cost);
  }

  protected twinUnder(parent: HierarchyNode): HierarchyNode {
    return new HierarchyNode(parent, this.key, this.frame.level.frame);
  }

  /** Evicts idle descendants, deepest first; returns how many. */
  private sweep(): number {
    const kids = this.frame.kids;
    if (kids === undefined) return 0;
    let evicted = 0;
    for (const [key, kid] of kids) {
      evicted += kid.sweep();
      if (kid.isIdle()) {
        kids.delete(key);
        kid.markEvicted();
        evicted++;
      }
    }
    if (kids.size === 0) this.dropKids();
    return evicted;
  }
}

/** Sets the schedule on every level of a tree, so each node checks one field of its own. */
function setCatchUp(level: Level | undefined, catchUp: (() => void) | undefined): void {
  for (let l = level; l !== undefined; l = l.child) l.catchUp = catchUp;
}
