import { retryAfterOf } from '@budgetry/core';

/** @internal A combinator's or coordinator's denial, as a `Decision` says it. */
export interface Denial<K> {
  ok: false;
  deniedBy: K;
  retryAfterMs?: number;
  exceedsCapacity?: true;
}

/**
 * @internal A denial naming `key`. A cost above the member's declared `capacity` can never be
 * admitted, and says so (`exceedsCapacity`, no retry hint); any other carries the member's
 * retry hint for `cost` when it has one.
 */
export function denial<K>(key: K, member: unknown, cost: number): Denial<K> {
  const capacity = (member as { capacity?: unknown } | null)?.capacity;
  if (typeof capacity === 'number' && cost > capacity) {
    return { ok: false, deniedBy: key, exceedsCapacity: true };
  }
  const retryAfterMs = retryAfterOf(member, cost);
  return retryAfterMs === undefined
    ? { ok: false, deniedBy: key }
    : { ok: false, deniedBy: key, retryAfterMs };
}
