import type { BudgetEvent } from '@budgetry/core';
import { warn } from '../internal/report.js';
import type { Level } from './types.js';

/**
 * What a {@link HierarchyNode} reports to its subscribers: a core {@link BudgetEvent} that
 * also names the node the operation was made through, so a listener on the root can tell
 * tenants apart (and label metrics by tenant, if it wants to).
 *
 * - `path`: the keys from the root down to that node (`[]` for the root itself, and for a
 *   refill, which is the whole tree's).
 * - `deniedBy`: on a `deny`, the path of the node on the way to the root that had no room.
 *
 * @example
 * ```ts
 * import { hierarchy } from '@budgetry/compose';
 *
 * const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
 * root.subscribe((event) => {
 *   if (event.type === 'deny') console.log(`${event.path.join('/')} denied by [${event.deniedBy}]`);
 * });
 * root.child('acme').tryReserveSync(11); // "acme denied by [acme]"
 * ```
 */
export type HierarchyEvent = BudgetEvent & {
  /** Keys from the root to the node the operation was made through (`[]`: the root). */
  readonly path: readonly string[];
  /** On a `deny`: the path of the node that had no room. */
  readonly deniedBy?: readonly string[];
};

/**
 * A listener for a {@link HierarchyEvent}; a core `BudgetObserver` is one too.
 *
 * @example
 * ```ts
 * import { hierarchy } from '@budgetry/compose';
 *
 * const root = hierarchy({ capacity: 100, children: { capacity: 10 } });
 * const tenants = new Map<string, number>();
 * root.subscribe((event) => {
 *   if (event.type === 'reserve') tenants.set(event.path.join('/'), event.cost);
 * });
 * ```
 */
export type HierarchyListener = (event: HierarchyEvent) => void;

/**
 * @internal One `subscribe` call: its own object, so that unsubscribing removes exactly it,
 * even when the same function was subscribed more than once. `path` is the node it was
 * made on: reservations and denials reach it only when made through that node or below.
 */
export interface Subscription {
  readonly listener: HierarchyListener;
  readonly path: readonly string[];
}

/** @internal The keys from the root down to `node` (`[]` at the root). */
export function keysOf(node: { readonly parent: unknown; readonly key: string }): string[] {
  const keys: string[] = [];
  type Up = { readonly parent: Up | null; readonly key: string };
  for (let n = node as Up; n.parent !== null; n = n.parent) keys.push(n.key);
  return keys.reverse();
}

/**
 * @internal Delivers `event` to every subscription of a tree's list (a snapshot: the list is
 * copied on write, so a listener that unsubscribes, or subscribes another, does not disturb
 * the delivery), or, with `scoped`, only to those made on the event's node or an ancestor of
 * it. A listener that throws stops neither the others nor the operation that already
 * happened: its error is reported as a process warning, as core's observers' are.
 */
export function tell(list: readonly Subscription[], event: HierarchyEvent, scoped = false): void {
  for (const s of list) {
    if (scoped && !isPrefix(s.path, event.path)) continue;
    try {
      s.listener(event);
    } catch (error) {
      warn('BudgetryObserverWarning', 'a hierarchy listener threw', error);
    }
  }
}

function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false;
  return true;
}

/** @internal Sets a tree's listeners, from its root's level, on the tree and on every level. */
export function setListeners(root: Level, list: readonly Subscription[] | undefined): void {
  root.tree.listeners = list;
  for (let l: Level | undefined = root; l !== undefined; l = l.child) l.listeners = list;
}
