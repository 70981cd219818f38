import type { BudgetCapabilities, Decision, SchedulableCapabilities } from '@budgetry/core';
import {
  assertAmount,
  checkUsed,
  type LeakWatch,
  PermitCode,
  type PermitState,
  permitStateOf,
  type SyncBudgetGuard,
  type SyncBudgetPermit,
  SyncBudgetPermitBase,
  SyncGuardBase,
  unwatchLeak,
  watchLeak,
} from '@budgetry/core';

const ROOT_CAPABILITIES: SchedulableCapabilities = Object.freeze({
  sync: true,
  countRelease: true,
  partialCommit: true,
  retryHint: false,
  refill: 'reset',
  schedulable: true,
});
const CHILD_CAPABILITIES: BudgetCapabilities = Object.freeze({
  ...ROOT_CAPABILITIES,
  schedulable: false,
});

import { describe, invalid } from '../internal/member-list.js';

/**
 * The root of a hierarchy, as {@link hierarchy} returns it: a node whose declaration says a
 * refill scheduler may drive it. Child nodes are plain {@link HierarchyNode}s, so
 * `intervalRefill(root.child('t'), …)` does not compile.
 *
 * @example
 * ```ts
 * import { type HierarchyRoot, hierarchy, intervalRefill } from '@budgetry/compose';
 *
 * const root: HierarchyRoot = hierarchy({ capacity: 100, children: { capacity: 10 } });
 * using daily = intervalRefill(root, { intervalMs: 86_400_000 });
 * ```
 */
export type HierarchyRoot = HierarchyNode & { readonly capabilities: SchedulableCapabilities };

/**
 * The shape of one level of a {@link hierarchy} and, through `children`, of every level
 * below it: `{ capacity: 1_000_000, children: { capacity: 10_000 } }` is a global budget
 * whose tenants get 10 000 each.
 *
 * @example
 * ```ts
 * import { type HierarchyTemplate, hierarchy } from '@budgetry/compose';
 *
 * const user: HierarchyTemplate = { capacity: 1_000 };
 * const org: HierarchyTemplate = { capacity: 20_000, children: user };
 * const root = hierarchy({ capacity: 1_000_000, children: org });
 * root.at('acme', 'alice').tryReserveSync(100); // charges alice, acme and the root
 * ```
 */
export interface HierarchyTemplate {
  /** Capacity of a node created at this level (a non-negative safe integer). */
  readonly capacity: number;
  /** Template for this node's children; absent for leaves. */
  readonly children?: HierarchyTemplate;
}

/**
 * Options for {@link hierarchy}.
 *
 * @example
 * ```ts
 * import { type HierarchyOptions, hierarchy } from '@budgetry/compose';
 *
 * // Many tenants, most of them idle: drop each from memory as soon as it holds nothing.
 * const options: HierarchyOptions = { evictOnIdle: true, leakBackstop: false };
 * const root = hierarchy({ capacity: 1_000_000, children: { capacity: 1_000 } }, options);
 * root.child('t-1').tryAcquireSync(10)?.releaseSync();
 * console.log(root.size); // 0
 * ```
 */
export interface HierarchyOptions {
  /**
   * Drop a child from memory as soon as it is idle again (nothing held, template capacity,
   * no children), instead of waiting for {@link HierarchyNode.evictIdle}. Idle tenants then
   * cost nothing; a tenant that reserves again is recreated from its template. Default
   * `false`.
   */
  evictOnIdle?: boolean;
  /**
   * Release permits that are garbage-collected while held, and count them in `leaks()`
   * (default `true`). Turning it off saves the bookkeeping of core's leak backstop per permit.
   */
  leakBackstop?: boolean;
}

/** @internal One level's template, validated, shared by every node at that level. */
interface Level {
  readonly capacity: number;
  readonly child: Level | undefined;
  readonly depth: number;
  readonly tree: TreeState;
  /** The tree's option, copied here: every release reads it. */
  readonly evictOnIdle: boolean;
}

/** @internal State shared by a whole tree. */
interface TreeState {
  readonly evictOnIdle: boolean;
  readonly backstop: boolean;
  leaks: number;
  /** Units the count API was asked to release beyond what a node held, anywhere in the tree. */
  overReleased: number;
  /** Bumped by every refill of the root; permits of older epochs are fenced off. */
  epoch: number;
}

const { held: HELD, released: RELEASED, committed: COMMITTED } = PermitCode;
/** A node whose `held` is this has been evicted; see {@link HierarchyNode}. */
const EVICTED = -1;

/** A permit's state; watched by core's leak backstop, so it must not reference the permit. */
class PermitCell implements LeakWatch {
  state: number = HELD;
  registered = false;
  constructor(
    readonly node: HierarchyNode,
    readonly cost: number,
    readonly epoch: number,
  ) {}

  isArmed(): boolean {
    return this.state === HELD;
  }

  collected(): void {
    if (this.state !== HELD) return;
    this.state = RELEASED;
    const node = this.node;
    const tree = node.level.tree;
    tree.leaks++;
    if (this.epoch === tree.epoch) node.unhold(this.cost);
  }
}

class HierarchyPermit extends SyncBudgetPermitBase {
  constructor(private readonly cell: PermitCell) {
    super();
  }
  get cost(): number {
    return this.cell.cost;
  }
  get epoch(): number {
    return this.cell.epoch;
  }
  get state(): PermitState {
    return permitStateOf(this.cell.state);
  }
  releaseSync(): boolean {
    return this.settle(RELEASED, 0);
  }
  commitSync(used?: number): boolean {
    return this.settle(
      COMMITTED,
      used === undefined ? this.cell.cost : checkUsed(used, this.cell.cost),
    );
  }
  private settle(to: number, spent: number): boolean {
    const cell = this.cell;
    if (cell.state !== HELD) return false;
    cell.state = to;
    const tree = cell.node.level.tree;
    unwatchLeak(cell);
    // A commit keeps `spent` units until the next refill of the root and gives the rest back
    // along the path; a permit from before that refill gives nothing back (the new epoch
    // started full).
    const back = cell.cost - spent;
    if (back > 0 && cell.epoch === tree.epoch) cell.node.unhold(back);
    return true;
  }
}

/**
 * One budget in a {@link hierarchy}: the root, an org, a team, a user, a key. A reservation
 * on a node charges it and every ancestor up to the root, atomically; a denial anywhere
 * rolls back all of it. `held()` counts the node's own reservations plus its subtree's, so
 * `Σ children held + own held = held ≤ capacity` at every node.
 *
 * Nodes are compact on purpose (seven fields and a map entry, no closures: about 110 bytes
 * per idle tenant plus its key, measured at a million), and can be evicted when idle. A
 * handle to an evicted node stays usable: it finds (or recreates) its live twin by key.
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
export class HierarchyNode extends SyncGuardBase implements SyncBudgetGuard {
  /** The parent, or `null` at the root. */
  readonly parent: HierarchyNode | null;
  /** The key under which the parent holds this node (`''` at the root). */
  readonly key: string;
  /** @internal */
  readonly level: Level;
  private cap: number;
  /** Units held by this node and its subtree, or {@link EVICTED}. */
  private heldUnits = 0;
  private countHeld = 0;
  private kids: Map<string, HierarchyNode> | undefined = undefined;

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
    return this.cap;
  }

  /** Depth in the tree: 0 at the root. */
  get depth(): number {
    return this.level.depth;
  }

  /** Keys from the root down to this node (empty at the root). */
  get path(): string[] {
    const keys: string[] = [];
    for (let n: HierarchyNode | null = this; n !== null && n.parent !== null; n = n.parent) {
      keys.push(n.key);
    }
    return keys.reverse();
  }

  /** Whether this handle was evicted (it still works, through its live twin). */
  get evicted(): boolean {
    return this.heldUnits === EVICTED;
  }

  /** Live children in memory. */
  get size(): number {
    return this.live().kids?.size ?? 0;
  }

  /** Units held by this node and its subtree. */
  held(): number {
    const n = this.live();
    return n.heldUnits;
  }

  /** Units held by this node itself (count API and permits), not by its children. */
  ownHeld(): number {
    const n = this.live();
    let own = n.heldUnits;
    if (n.kids !== undefined) for (const k of n.kids.values()) own -= k.heldUnits;
    return own;
  }

  /** The tree's refill epoch: 0, then one more per {@link HierarchyNode.refill}. */
  get epoch(): number {
    return this.level.tree.epoch;
  }

  /**
   * Synchronous, pool count release, partial commit, `reset` epochs; only the root is
   * schedulable (a child's epochs are the root's).
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
   * `intervalRefill(root, …)` or `calendarRefill(root, { …, timer: true })`: the timer keeps
   * refills on time even when only child nodes are used.
   *
   * @throws BudgetError `INVALID_ARGUMENT` on a node other than the root, which would break
   * its ancestors' sums.
   */
  refill(): void {
    if (this.parent !== null) {
      throw invalid('refill() applies to the root of a hierarchy only', { path: this.path });
    }
    this.level.tree.epoch++;
    this.clearSubtree();
    if (this.level.tree.evictOnIdle) this.evictIdle();
  }

  /**
   * Units the count API was asked to release beyond what a node held (and ignored), summed
   * over the whole tree.
   */
  overReleased(): number {
    return this.level.tree.overReleased;
  }

  /** Permits of this tree garbage-collected while held, released by the backstop. */
  leaks(): number {
    return this.level.tree.leaks;
  }

  /**
   * The most this node could ever grant: the smallest capacity on its path, since children
   * may be given more than their parent. Waiting lines use it to fail at once for a cost
   * that can never fit.
   *
   * @returns units.
   */
  pathCapacity(): number {
    let c = Number.MAX_SAFE_INTEGER;
    for (let a: HierarchyNode | null = this.live(); a !== null; a = a.parent)
      c = Math.min(c, a.cap);
    return c;
  }

  /** Units that can be reserved on this node right now: the tightest room on its path. */
  available(): number {
    let room = Number.MAX_SAFE_INTEGER;
    for (let a: HierarchyNode | null = this.live(); a !== null; a = a.parent) {
      room = Math.min(room, a.cap - a.heldUnits);
    }
    return Math.max(room, 0);
  }

  /**
   * The child under `key`, created from the template on first use.
   *
   * @param key - a tenant id: any string (it is data, never syntax).
   * @param overrides - a capacity for this child other than its template's; applied to an
   * existing child too.
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
    const self = this.live();
    const level = self.level.child;
    if (level === undefined) {
      throw invalid(`node at depth ${self.level.depth} has no template for children`, {
        path: self.path,
        key,
      });
    }
    let kids = self.kids;
    if (kids === undefined) kids = self.kids = new Map();
    let node = kids.get(key);
    if (node === undefined) {
      node = new HierarchyNode(self, key, level, capacity ?? level.capacity);
      kids.set(key, node);
    } else if (capacity !== undefined) {
      // Lowering a capacity below what the child already holds would leave it over capacity.
      if (capacity < node.heldUnits) {
        throw invalid(
          `capacity ${capacity} for '${key}' is below the ${node.heldUnits} units it holds; release them first`,
          { path: self.path, key, capacity, held: node.heldUnits },
        );
      }
      node.cap = capacity;
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
    return this.live().kids?.has(key) ?? false;
  }

  /**
   * The children in memory (not evicted ones, nor keys never used).
   *
   * @returns an iterator over live child nodes.
   */
  children(): IterableIterator<HierarchyNode> {
    const kids = this.live().kids;
    return (kids ?? new Map<string, HierarchyNode>()).values();
  }

  /**
   * Drop idle descendants from memory: nothing held, their template's capacity, no children
   * left. Nothing outstanding is ever lost, because a node holding anything is not idle.
   *
   * @returns how many nodes were evicted.
   */
  evictIdle(): number {
    const self = this.live();
    const kids = self.kids;
    if (kids === undefined) return 0;
    let evicted = 0;
    for (const [key, kid] of kids) {
      evicted += kid.evictIdle();
      if (kid.isIdle()) {
        kids.delete(key);
        kid.heldUnits = EVICTED;
        evicted++;
      }
    }
    if (kids.size === 0) self.kids = undefined;
    return evicted;
  }

  /**
   * Reserve `cost` on this node and every ancestor, or on none.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when the whole path had room.
   */
  tryReserveSync(cost: number): boolean {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    let n: HierarchyNode = this;
    if (n.heldUnits === EVICTED) n = n.live();
    for (let a: HierarchyNode | null = n; a !== null; a = a.parent) {
      if (a.heldUnits + cost > a.cap) return false;
    }
    for (let a: HierarchyNode | null = n; a !== null; a = a.parent) a.heldUnits += cost;
    n.countHeld += cost;
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
    let n: HierarchyNode = this;
    if (n.heldUnits === EVICTED) n = n.live();
    // Clamped so a double release can never free units that another holder reserved; the
    // excess is counted, tree-wide, so it costs no memory per tenant.
    let accepted = cost;
    if (cost > n.countHeld) {
      accepted = n.countHeld;
      n.level.tree.overReleased += cost - accepted;
    }
    n.countHeld -= accepted;
    n.unhold(accepted);
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
   * @returns the permit, or in `deniedBy` the path of the node that had no room
   * (`[]` for the root).
   */
  tryAcquireDetailedSync(cost: number): Decision<readonly string[], SyncBudgetPermit> {
    const r = this.acquire(cost);
    return r instanceof HierarchyPermit ? { ok: true, permit: r } : { ok: false, deniedBy: r.path };
  }

  /** {@inheritDoc HierarchyNode.tryAcquireDetailedSync} */
  async tryAcquireDetailed(cost: number): Promise<Decision<readonly string[], SyncBudgetPermit>> {
    return this.tryAcquireDetailedSync(cost);
  }

  /** @internal Returns `cost` units to this node's path; evicts it if idle and asked to. */
  unhold(cost: number): void {
    for (let a: HierarchyNode | null = this; a !== null; a = a.parent) a.heldUnits -= cost;
    if (this.level.evictOnIdle && this.heldUnits === 0) this.evictSelf();
  }

  private acquire(cost: number): HierarchyPermit | HierarchyNode {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    const n = this.live();
    for (let a: HierarchyNode | null = n; a !== null; a = a.parent) {
      if (a.heldUnits + cost > a.cap) return a;
    }
    for (let a: HierarchyNode | null = n; a !== null; a = a.parent) a.heldUnits += cost;
    const cell = new PermitCell(n, cost, n.level.tree.epoch);
    const permit = new HierarchyPermit(cell);
    if (n.level.tree.backstop) watchLeak(permit, cell);
    return permit;
  }

  private clearSubtree(): void {
    this.heldUnits = 0;
    this.countHeld = 0;
    if (this.kids !== undefined) for (const k of this.kids.values()) k.clearSubtree();
  }

  private isIdle(): boolean {
    return this.heldUnits === 0 && this.kids === undefined && this.cap === this.level.capacity;
  }

  /** Removes an idle node, then any ancestor left idle, from their parents' maps. */
  private evictSelf(): void {
    let n: HierarchyNode = this;
    while (n.parent !== null && n.isIdle()) {
      const p = n.parent;
      p.kids?.delete(n.key);
      if (p.kids?.size === 0) p.kids = undefined;
      n.heldUnits = EVICTED;
      n = p;
    }
  }

  /** The node that stands for this one: itself, or its live twin if it was evicted. */
  private live(): HierarchyNode {
    if (this.heldUnits !== EVICTED) return this;
    // parent is non-null: the root is never evicted.
    return this.parent!.live().child(this.key);
  }
}

function toLevel(template: unknown, depth: number, tree: TreeState, seen: Set<unknown>): Level {
  if (typeof template !== 'object' || template === null) {
    throw invalid(
      `hierarchy template at depth ${depth} must be an object, got ${describe(template)}`,
      {
        depth,
      },
    );
  }
  if (seen.has(template)) {
    throw invalid(`hierarchy template has a cycle at depth ${depth}`, { depth });
  }
  seen.add(template);
  const { capacity, children } = template as HierarchyTemplate;
  assertAmount(capacity, depth === 0 ? 'capacity' : `capacity at depth ${depth}`);
  const child = children === undefined ? undefined : toLevel(children, depth + 1, tree, seen);
  return { capacity, child, depth, tree, evictOnIdle: tree.evictOnIdle };
}

/**
 * Budgets in a tree — global → org → team → user → key, any depth — where a reservation on a
 * node charges the whole path to the root atomically. Children are created on demand by key
 * (a tenant id) from a per-level template, may override their capacity, and together may
 * oversubscribe their parent: 1 000 tenants of 10 000 each under a global 1 000 000 admit
 * whatever fits both the tenant's and the global limit.
 *
 * When to use: per-tenant budgets inside a global budget, so no tenant can spend another's
 * budget or starve the others past its own cap. The tree is synchronous and in-process; every
 * node is a {@link SyncBudgetGuard}, so a tenant node can be a member of an all-of or a
 * coordinator dimension. Idle tenants are cheap, and can be evicted ({@link
 * HierarchyNode.evictIdle} or `evictOnIdle`) without losing anything outstanding. For
 * per-period caps, refill the root on a schedule (`intervalRefill(root, …)`): every node
 * starts the new epoch empty, older reservations fenced off.
 *
 * @param template - the root's capacity and, nested under `children`, each level's template.
 * @param options - eviction on idle and the leak backstop.
 * @returns the root node.
 * @throws BudgetError `INVALID_ARGUMENT` for a malformed or cyclic template or bad options,
 * `INVALID_AMOUNT` for a bad capacity; nothing is built.
 *
 * @example
 * ```ts
 * import { hierarchy } from '@budgetry/compose';
 *
 * const global = hierarchy({ capacity: 1_000_000, children: { capacity: 10_000 } });
 * const acme = global.child('acme');
 * if (acme.tryReserveSync(2_500)) {
 *   // charged to acme and to the global budget
 *   acme.releaseSync(2_500);
 * }
 * global.child('bigco', { capacity: 50_000 }); // an override
 * ```
 */
export function hierarchy(
  template: HierarchyTemplate,
  options: HierarchyOptions = {},
): HierarchyRoot {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`hierarchy options must be an object, got ${describe(options)}`, {});
  }
  const { evictOnIdle, leakBackstop } = options;
  if (evictOnIdle !== undefined && typeof evictOnIdle !== 'boolean') {
    throw invalid('option evictOnIdle must be a boolean', { evictOnIdle });
  }
  if (leakBackstop !== undefined && typeof leakBackstop !== 'boolean') {
    throw invalid('option leakBackstop must be a boolean', { leakBackstop });
  }
  const tree: TreeState = {
    evictOnIdle: evictOnIdle ?? false,
    backstop: leakBackstop ?? true,
    leaks: 0,
    overReleased: 0,
    epoch: 0,
  };
  const level = toLevel(template, 0, tree, new Set());
  return new HierarchyNode(null, '', level, level.capacity) as HierarchyRoot;
}
