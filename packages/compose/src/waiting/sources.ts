import type { SyncBudgetGuard } from '@budgetry/core';

/** @internal Anything a waiting line can listen to for freed units. */
export type Subscribable = { subscribe(listener: (event?: unknown) => void): () => void };

/**
 * @internal The guard and the budgets it is built on that report events: a refill
 * scheduler's budget, a token guard's budget, a combinator's members (each once, however
 * they nest).
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
    };
    if (typeof v.subscribe === 'function') found.push(v as Subscribable);
    visit(v.budget, depth + 1);
    visit(v.tokens, depth + 1);
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
 * @internal The largest cost the guard could ever grant. A hierarchy node can be larger than
 * its ancestors (children may oversubscribe), so its own capacity is not the ceiling: the
 * smallest capacity on its path is.
 */
export function ceilingOf(guard: SyncBudgetGuard): number {
  const path = (guard as { pathCapacity?: () => number }).pathCapacity;
  return typeof path === 'function' ? path.call(guard) : guard.capacity;
}
