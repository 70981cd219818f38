import { retryAfterOf } from '@budgetry/core';
import { ceilingOf } from './ceiling.js';

/** @internal A combinator's or coordinator's denial, as a `Decision` says it. */
export interface Denial<K> {
  ok: false;
  deniedBy: K;
  retryAfterMs?: number;
  exceedsCapacity?: true;
}

/**
 * @internal A denial naming `key`. A cost above what the member could ever grant as its
 * capacities stand (its ceiling: its `capacity`, or, looking through what it is made of, a
 * hierarchy node's smallest capacity up to the root, an all-of's smallest member's, a
 * fixed charge it can never take) can never be admitted without a change of capacity, and
 * says so (`exceedsCapacity`, no retry hint); any other carries the member's retry hint for
 * `cost` when it has one.
 */
export function denial<K>(key: K, member: unknown, cost: number): Denial<K> {
  const capacity = typeof member === 'object' && member !== null ? ceilingOf(member) : undefined;
  if (typeof capacity === 'number' && cost > capacity) {
    return { ok: false, deniedBy: key, exceedsCapacity: true };
  }
  const retryAfterMs = retryAfterOf(member, cost);
  return retryAfterMs === undefined
    ? { ok: false, deniedBy: key }
    : { ok: false, deniedBy: key, retryAfterMs };
}
