import { reportObserverFailure } from '../budgets/observer-list.js';
import { describe, invalid } from '../budgets/options.js';
import type { BudgetEvent } from '../spec/events.js';

/**
 * What a {@link SharedHierarchy} node reports to the listeners of its handle: a
 * {@link BudgetEvent} that also names the node the operation was made through, as compose's
 * `hierarchy()` nodes report theirs, so one listener on the root can tell tenants apart.
 *
 * - `path`: the keys from the root down to that node (`[]` for the root itself, and for a
 *   refill, which is the whole tree's).
 * - `deniedBy`: on a `deny`, the path of the node on the way to the root that had no room.
 *
 * @example
 * ```ts
 * import { SharedHierarchy, type SharedHierarchyEvent } from '@budgetry/core';
 *
 * const root = new SharedHierarchy({ capacity: 100, children: { capacity: 10 } });
 * const denials: SharedHierarchyEvent[] = [];
 * root.subscribe((event) => {
 *   if (event.type === 'deny') denials.push(event);
 * });
 * root.child('acme').tryReserveSync(11);
 * console.log(denials[0]?.path, denials[0]?.deniedBy); // [ 'acme' ] [ 'acme' ]
 * root.close();
 * ```
 */
export type SharedHierarchyEvent = BudgetEvent & {
  /** Keys from the root to the node the operation was made through (`[]`: the root). */
  readonly path: readonly string[];
  /** On a `deny`: the path of the node that had no room. */
  readonly deniedBy?: readonly string[];
};

/**
 * A listener for a {@link SharedHierarchyEvent}; a `BudgetObserver` is one too.
 *
 * @example
 * ```ts
 * import { SharedHierarchy, type SharedHierarchyListener } from '@budgetry/core';
 *
 * const perTenant = new Map<string, number>();
 * const count: SharedHierarchyListener = (event) => {
 *   if (event.type === 'reserve') {
 *     const tenant = event.path.join('/');
 *     perTenant.set(tenant, (perTenant.get(tenant) ?? 0) + event.cost);
 *   }
 * };
 * const root = new SharedHierarchy({ capacity: 100, children: { capacity: 10 } });
 * root.subscribe(count);
 * root.close();
 * ```
 */
export type SharedHierarchyListener = (event: SharedHierarchyEvent) => void;

/**
 * @internal One `subscribe` call: its own object, so that unsubscribing removes exactly it.
 * `node` is the index of the node it was made on: reservations and denials reach it only when
 * made through that node or a node below it.
 */
export interface HierarchySubscription {
  readonly listener: SharedHierarchyListener;
  readonly node: number;
}

/** @internal A node handle as the events need it: its index, parent and path. */
export interface EventNode {
  readonly index: number;
  readonly parent: EventNode | null;
  readonly path: string[];
}

/** @internal Where a handle keeps its subscriptions: `undefined` while it has none. */
export interface EventSite {
  listeners: readonly HierarchySubscription[] | undefined;
}

/**
 * @internal Adds `listener`, made on the node of index `node`, to `site`'s subscriptions (a
 * new array: a delivery under way keeps the one it started with); returns its removal.
 */
export function subscribeTo(
  site: EventSite,
  node: number,
  listener: SharedHierarchyListener,
): () => void {
  if (typeof listener !== 'function') {
    throw invalid(`a hierarchy listener must be a function, got ${describe(listener)}`, {});
  }
  const mine: HierarchySubscription = { listener, node };
  site.listeners = [...(site.listeners ?? []), mine];
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    const rest = (site.listeners ?? []).filter((s) => s !== mine);
    site.listeners = rest.length === 0 ? undefined : rest;
  };
}

/**
 * @internal Delivers `event` to each of `list`, or, given `through` (the node a reservation
 * or denial was made through), only to those made on it or on an ancestor of it. A listener
 * that throws stops neither the others nor the operation, which already happened.
 */
export function tell(
  list: readonly HierarchySubscription[],
  event: SharedHierarchyEvent,
  through?: EventNode,
): void {
  for (const s of list) {
    if (through !== undefined && !onPath(through, s.node)) continue;
    try {
      s.listener(event);
    } catch (error) {
      reportObserverFailure(error);
    }
  }
}

function onPath(node: EventNode, index: number): boolean {
  for (let n: EventNode | null = node; n !== null; n = n.parent) if (n.index === index) return true;
  return false;
}

/**
 * @internal Tells `list` that a reservation of `cost` through `node` was granted, leaving
 * `available` on its path, or, with `deniedAt` ≥ 0, denied by the node that many levels above
 * `node`.
 */
export function tellReserved(
  list: readonly HierarchySubscription[],
  node: EventNode,
  cost: number,
  available: number,
  deniedAt: number,
): void {
  const budget = undefined;
  const path = node.path;
  if (deniedAt < 0) {
    tell(list, { type: 'reserve', budget, cost, available, path }, node);
    return;
  }
  let full = node;
  for (let up = deniedAt; up > 0 && full.parent !== null; up--) full = full.parent;
  tell(list, { type: 'deny', budget, cost, available, path, deniedBy: full.path }, node);
}

/**
 * @internal Tells `list` that `cost` units reserved through `node` were released (or
 * committed, keeping `used`), `refunded` of them coming back, leaving `available`; a leak is
 * reported as its release, then as a leak.
 */
export function tellSettled(
  list: readonly HierarchySubscription[],
  node: EventNode,
  release: boolean,
  cost: number,
  used: number,
  refunded: number,
  available: number,
  leak: boolean,
): void {
  const budget = undefined;
  const path = node.path;
  if (release) tell(list, { type: 'release', budget, cost, refunded, available, path });
  else tell(list, { type: 'commit', budget, cost, used, refunded, path });
  if (leak) tell(list, { type: 'leak', budget, amount: cost, refunded, path });
}

/** @internal Tells `list` that a count release of `requested` through `node` ignored some. */
export function tellOverRelease(
  list: readonly HierarchySubscription[],
  node: EventNode,
  requested: number,
  accepted: number,
): void {
  const excess = requested - accepted;
  const event = { type: 'over-release', budget: undefined, requested, accepted, excess } as const;
  tell(list, { ...event, path: node.path });
}
