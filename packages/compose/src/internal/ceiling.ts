import type { SyncBudgetGuard } from '@budgetry/core';

/** @internal Reads the largest cost a guard could ever grant (see {@link ceilingOf}). */
export type CeilingReading = (guard: { readonly capacity: number }) => number;

/**
 * @internal The key of a combinator's or wrapper's own ceiling, worked out from its parts'
 * by the reading it is given. A symbol rather than a method name, so that no guard of a
 * user's is taken for one of these by a name it happens to have.
 */
export const ceilingKey: unique symbol = Symbol('budgetry.ceiling');

/** @internal A combinator or wrapper that knows its ceiling from its parts'. */
export interface CeilingFromParts {
  [ceilingKey](of: CeilingReading): number;
}

/**
 * @internal The largest cost the guard could ever grant as its capacities stand: a cost above
 * it can never be admitted without a change of capacity (a waiting line refuses it at once, a
 * denial says `exceedsCapacity`), and a cost at or below it may be. It looks through what the
 * guard is made of, however deep:
 *
 * - a hierarchy node: the smallest capacity on its path (children may oversubscribe their
 *   parent, so its own capacity is not the ceiling);
 * - an any-of: the largest of its members' ceilings (a permit is one member's);
 * - an all-of: the smallest ceiling among the members charged the cost; a member with a fixed
 *   charge bounds nothing, unless the charge is above its own ceiling, and then no cost but 0
 *   (which charges nobody) is ever granted: the ceiling is 0;
 * - a wrapper — a waiting line, a token guard, a scheduled view — its budget's;
 * - anything else: its capacity.
 */
export function ceilingOf(guard: { readonly capacity: number }): number {
  const g = guard as Partial<CeilingFromParts> & { pathCapacity?: () => number };
  const path = g.pathCapacity;
  if (typeof path === 'function') return path.call(guard);
  const own = g[ceilingKey];
  if (typeof own === 'function') return own.call(guard, ceilingOf);
  const waited = waitedOn(guard);
  if (waited !== undefined) return ceilingOf(waited);
  return guard.capacity;
}

/**
 * @internal Whether {@link ceilingOf} has to look inside `guard`, or may read its capacity.
 */
export function hasParts(guard: object): boolean {
  const g = guard as Partial<CeilingFromParts> & { pathCapacity?: unknown };
  return (
    typeof g.pathCapacity === 'function' ||
    typeof g[ceilingKey] === 'function' ||
    waitedOn(guard) !== undefined
  );
}

/**
 * @internal The guard a waiting line waits on, when `value` is one (told by its shape: the
 * waiting line's modules import this one, which cannot import them back).
 */
export function waitedOn(value: object): SyncBudgetGuard | undefined {
  const v = value as { guard?: unknown; notify?: unknown; acquire?: unknown; pending?: unknown };
  if (typeof v.notify !== 'function' || typeof v.acquire !== 'function') return undefined;
  if (typeof v.pending !== 'number') return undefined;
  const inner = v.guard as Partial<SyncBudgetGuard> | null | undefined;
  return typeof inner === 'object' && inner !== null && typeof inner.tryAcquireSync === 'function'
    ? (inner as SyncBudgetGuard)
    : undefined;
}
