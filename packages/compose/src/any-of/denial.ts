import { type Decision, retryAfterOf, type SyncBudgetGuard } from '@budgetry/core';
import { waitOf } from '../internal/member-wait.js';

/**
 * A denial from an any-of: every member denied; the soonest retry any of them knows.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { type AnyOfDecision, anyOf, type SyncAnyOfPermit } from '@budgetry/compose';
 *
 * type Region = 'east' | 'west';
 * const pool = anyOf({ east: new AtomicBudget(1), west: new AtomicBudget(1) });
 * const d: AnyOfDecision<Region, SyncAnyOfPermit<Region>> = pool.tryAcquireDetailedSync(2);
 * if (!d.ok) console.log(d.deniedBy); // ['east', 'west']
 * ```
 */
export type AnyOfDecision<K, P> = Decision<readonly K[], P>;

/** @internal The least of the hints `hint` gives for `members`, skipping those it has none for. */
function least<M>(members: readonly M[], hint: (m: M) => number | undefined): number | undefined {
  let best: number | undefined;
  for (const m of members) {
    const ms = hint(m);
    if (ms !== undefined && (best === undefined || ms < best)) best = ms;
  }
  return best;
}

/** @internal The soonest retry hint any member gives for `cost`. */
export function soonest(members: readonly unknown[], cost: number): number | undefined {
  return least(members, (m) => retryAfterOf(m, cost));
}

/**
 * @internal How long until some member could take `cost` (see `waitOf`): 0 when one would
 * now, else the soonest wait any member can say, or `undefined` when none can.
 */
export function soonestWait(members: readonly SyncBudgetGuard[], cost: number): number | undefined {
  return least(members, (m) => waitOf(m, cost));
}

/** @internal A denial naming every member, with the soonest retry any of them knows. */
export function anyDenial<K>(
  keys: readonly K[],
  members: readonly unknown[],
  cost: number,
): { ok: false; deniedBy: readonly K[]; retryAfterMs?: number } {
  const retryAfterMs = soonest(members, cost);
  return retryAfterMs === undefined
    ? { ok: false, deniedBy: keys }
    : { ok: false, deniedBy: keys, retryAfterMs };
}
