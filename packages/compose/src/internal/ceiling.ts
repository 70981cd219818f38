/** @internal Reads the largest cost a guard could ever grant (see {@link ceilingOf}). */
export type CeilingReading = (guard: object) => number;

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
 * - anything else: its capacity, or no bound (`Infinity`) when it states none.
 *
 * Each combinator and wrapper answers through {@link ceilingKey}, synchronous or not; a guard
 * of a user's is read by its capacity, whatever else it has.
 */
export function ceilingOf(guard: object): number {
  const g = guard as Partial<CeilingFromParts> & { pathCapacity?: () => number };
  const path = g.pathCapacity;
  if (typeof path === 'function') return path.call(guard);
  const own = g[ceilingKey];
  if (typeof own === 'function') return own.call(guard, ceilingOf);
  // A guard that states no capacity (a Redis hierarchy node, say) bounds nothing known here.
  const capacity: unknown = (guard as { capacity?: unknown }).capacity;
  return typeof capacity === 'number' ? capacity : Number.POSITIVE_INFINITY;
}

/**
 * @internal Whether {@link ceilingOf} has to look inside `guard`, or may read its capacity.
 */
export function hasParts(guard: object): boolean {
  const g = guard as Partial<CeilingFromParts> & { pathCapacity?: unknown };
  return typeof g.pathCapacity === 'function' || typeof g[ceilingKey] === 'function';
}

/**
 * @internal An all-of's ceiling: the smallest among the members charged the cost (`fixed[i]`
 * below 0); a member with a fixed charge bounds nothing, unless the charge is above what it
 * could ever grant, and then no cost above 0 (which charges nobody) is ever granted.
 */
export function allOfCeiling(
  members: readonly object[],
  fixed: readonly number[],
  of: CeilingReading,
): number {
  let c = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < members.length; i++) {
    const most = of(members[i]!);
    const f = fixed[i]!;
    if (f < 0) c = Math.min(c, most);
    else if (f > most) return 0;
  }
  return c;
}

/** @internal An any-of's ceiling: the largest among its members, since a permit is one member's. */
export function anyOfCeiling(members: readonly object[], of: CeilingReading): number {
  let c = 0;
  for (const m of members) c = Math.max(c, of(m));
  return c;
}
