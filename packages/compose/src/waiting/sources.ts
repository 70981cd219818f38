import type { SyncBudgetGuard } from '@budgetry/core';
import { ceilingOf, hasParts } from '../internal/ceiling.js';

/** @internal Anything a waiting line can listen to for freed units. */
export type Subscribable = { subscribe(listener: (event?: unknown) => void): () => void };

/**
 * @internal The key of a waiting line's `watch` on itself emptying (see `Subscriptions.watch`),
 * which a line over it listens to. A symbol, so that nothing of a user's is taken for it.
 */
export const emptiedKey: unique symbol = Symbol('budgetry.waiting.emptied');

/** @internal A waiting line, as a line over it listens to it. */
interface Emptying {
  [emptiedKey](listener: () => void): () => void;
}

/**
 * @internal The guard and the budgets it is built on that report events: a refill
 * scheduler's budget, a token guard's budget, a combinator's members, the guard a waiting
 * line waits on (each once, however they nest). A shared budget is listened to through `watchFreed`, which hears releases,
 * refills and closing through every handle in every thread. A waiting line among them is
 * listened to for emptying (see `Subscriptions.watch`). A line hears from them an epoch (a
 * refill scheduler), a `BudgetEvent` (a core budget: see {@link mayFreeUnits}) or nothing (a
 * line emptying), so a release made directly on a budget underneath wakes it; it listens only
 * while someone waits, so an idle or dropped line leaves nothing subscribed.
 */
export function subscribable(guard: object): Subscribable[] {
  const found: Subscribable[] = [];
  const seen = new Set<object>();
  const visit = (value: unknown, depth: number): void => {
    if (typeof value !== 'object' || value === null || seen.has(value) || depth > 8) return;
    seen.add(value);
    const v = value as Partial<Subscribable> & {
      budget?: unknown;
      tokens?: unknown;
      members?: unknown;
      watchFreed?: (listener: () => void) => () => void;
    };
    // A shared budget's own events are only this handle's; its watch hears every thread.
    if (typeof v.watchFreed === 'function') {
      const watch = v.watchFreed.bind(v);
      found.push({ subscribe: (listener) => watch(() => listener()) });
    } else if (typeof v.subscribe === 'function') found.push(v as Subscribable);
    // A waiting line inside grants nothing while anyone waits in it: it says when it empties.
    const emptied = (v as Partial<Emptying>)[emptiedKey];
    if (typeof emptied === 'function') {
      found.push({ subscribe: (listener) => emptied.call(v, () => listener()) });
    }
    visit(v.budget, depth + 1);
    visit(v.tokens, depth + 1);
    // A waiting line inside: its permits over a core budget are the budget's own, heard there.
    visit(waitedOn(v), depth + 1);
    if (Array.isArray(v.members)) for (const m of v.members) visit(m, depth + 1);
  };
  visit(guard, 0);
  return found;
}

/** @internal Whether a subscription callback's argument can mean units came back. */
export function mayFreeUnits(event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return true; // a refill epoch
  const type = (event as { type?: unknown }).type;
  if (type === 'commit') return ((event as { refunded?: unknown }).refunded as number) > 0;
  return type === 'release' || type === 'refill' || type === 'record' || type === 'leak';
}

/**
 * @internal A function that returns {@link ceilingOf} `guard`, decided once for the guard's
 * kind: what a guard is (a hierarchy node, a combinator, a wrapper, a plain budget) does not
 * change, while the capacities the ceiling is read from may (a hierarchy child's capacity can
 * be overridden), so they are read on every call. A plain budget's ceiling is its capacity,
 * read directly, without the checks `ceilingOf` makes to find that out.
 */
export function ceilingReader(guard: { readonly capacity: number }): () => number {
  const path = (guard as { pathCapacity?: () => number }).pathCapacity;
  if (typeof path === 'function') return () => path.call(guard);
  if (hasParts(guard)) return () => ceilingOf(guard);
  return () => guard.capacity;
}

/**
 * The guard a waiting line waits on, when `value` is one (told by its shape: this module is
 * the waiting line's own, which cannot import it back).
 */
function waitedOn(value: object): SyncBudgetGuard | undefined {
  const v = value as { guard?: unknown; notify?: unknown; acquire?: unknown; pending?: unknown };
  if (typeof v.notify !== 'function' || typeof v.acquire !== 'function') return undefined;
  if (typeof v.pending !== 'number') return undefined;
  const inner = v.guard as Partial<SyncBudgetGuard> | null | undefined;
  return typeof inner === 'object' && inner !== null && typeof inner.tryAcquireSync === 'function'
    ? (inner as SyncBudgetGuard)
    : undefined;
}
