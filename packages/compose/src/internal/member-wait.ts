import { retryAfterOf, type SyncBudgetGuard } from '@budgetry/core';
import { membersOf } from './combinators.js';

/**
 * @internal The key of a guard's own answer to {@link waitOf}: a waiting line's, which does
 * not grant the units it has while anyone is in line. A symbol, as `ceilingKey` is, so that
 * no guard of a user's is taken for one by a name it happens to have.
 */
export const waitKey: unique symbol = Symbol('budgetry.wait');

/** @internal A guard that knows how long until it would grant a cost (see {@link waitOf}). */
export interface OwnWait {
  [waitKey](cost: number): number | undefined;
}

/**
 * @internal How long until `member` could grant `cost`, if nothing else changes: 0 when it
 * would now, else its retry hint; `undefined` when it cannot say (a budget with no schedule
 * waits for a release). Room is not always enough: a waiting line with anyone in line grants
 * nobody else (it cannot say when; it tells the lines over it once it empties), so it answers
 * for itself, and a combinator answers through its own hint, which asks its members this way,
 * however they nest. A combinator's hint that read room as "now" would tell a line over it to
 * try again at once, again and again.
 */
export function waitOf(member: SyncBudgetGuard, cost: number): number | undefined {
  const own = (member as Partial<OwnWait>)[waitKey];
  if (typeof own === 'function') return own.call(member, cost);
  if (membersOf(member) === undefined && member.available() >= cost) return 0;
  return retryAfterOf(member, cost);
}
