import type { BudgetCapabilities, SchedulableCapabilities } from '@budgetry/core';
import type { Frame } from './frame.js';
import type { Subscription } from './listeners.js';
import type { HierarchyNode } from './node.js';

/**
 * @internal What the root declares: the one node a refill scheduler may drive. Every node
 * declares a retry hint, whether or not the tree follows a schedule yet (what a node declares
 * is read once, by whatever is built over it): without one, the hint says nothing.
 */
export const ROOT_CAPABILITIES: SchedulableCapabilities = Object.freeze({
  sync: true,
  countRelease: true,
  partialCommit: true,
  retryHint: true,
  refill: 'reset',
  schedulable: true,
});

/** @internal What every other node declares: the root's epochs, not its own. */
export const CHILD_CAPABILITIES: BudgetCapabilities = Object.freeze({
  ...ROOT_CAPABILITIES,
  schedulable: false,
});

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
   * Keep only nodes that hold something in memory: a child is dropped as soon as it is idle
   * again (nothing held, template capacity, no children), instead of waiting for
   * {@link HierarchyNode.evictIdle}, and `child(key)` hands out a handle that enters memory
   * only when it reserves (a denied reservation or a read leaves nothing behind). Idle
   * tenants then cost nothing, however many ids pass through. Default `false`.
   */
  evictOnIdle?: boolean;
  /**
   * Release permits that are garbage-collected while held, and count them in `leaks()`
   * (default `true`). Turning it off saves the bookkeeping of core's leak backstop per permit.
   */
  leakBackstop?: boolean;
}

/** @internal One level's template, validated, shared by every node at that level. */
export interface Level {
  readonly capacity: number;
  readonly child: Level | undefined;
  readonly depth: number;
  readonly tree: TreeState;
  /**
   * The tree's option, copied here: releases read it once any tree in the process evicts on
   * idle (see `ResidentNode.anyEvicting`).
   */
  readonly evictOnIdle: boolean;
  /**
   * The tree's refill schedule, copied into every level so that an operation checks one
   * field before it runs (see `HierarchyNode.followSchedule`); `undefined` when none.
   */
  catchUp: (() => void) | undefined;
  /**
   * The tree's listeners, copied into every level for the same reason: a release checks one
   * field of its own level (see `HierarchyNode.subscribe`); `undefined` when none.
   */
  listeners: readonly Subscription[] | undefined;
  /**
   * The frame of every node of this level at its template's capacity with no children in
   * memory: almost all of them (see {@link Frame}).
   */
  readonly frame: Frame;
}

/** @internal State shared by a whole tree. */
export interface TreeState {
  readonly evictOnIdle: boolean;
  readonly backstop: boolean;
  leaks: number;
  /**
   * Units the count API was asked to release beyond what a node held, anywhere in the tree;
   * a running total that saturates at `Number.MAX_SAFE_INTEGER`.
   */
  overReleased: number;
  /** Bumped by every refill of the root; permits of older epochs are fenced off. */
  epoch: number;
  /** The schedule the root follows, if any. */
  schedule: (() => void) | undefined;
  /** How long until that schedule's next refill, when it says (see `followSchedule`). */
  nextRefill: (() => number | undefined) | undefined;
  /**
   * What `subscribe` on any node of the tree added, copied on write (and into every level);
   * `undefined` while nobody listens.
   */
  listeners: readonly Subscription[] | undefined;
}

/**
 * A node whose room (and count-API holding) is this is not in memory: evicted, or (under
 * `evictOnIdle`) a handle `child()` gave out that has not reserved yet. See `PathNode`.
 */
export const EVICTED = -1;
