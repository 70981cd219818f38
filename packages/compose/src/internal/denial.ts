import { retryAfterOf } from '@budgetry/core';

/** @internal A combinator's or coordinator's denial, as a `Decision` says it. */
export interface Denial<K> {
  ok: false;
  deniedBy: K;
  retryAfterMs?: number;
  exceedsCapacity?: true;
}

/**
 * The most `member` could grant as its capacities stand: a hierarchy node's path capacity (the
 * smallest on its way to the root, as a waiting line reads it), else its `capacity`.
 */
function capacityOf(member: unknown): unknown {
  const m = member as { capacity?: unknown; pathCapacity?: unknown } | null;
  return typeof m?.pathCapacity === 'function' ? m.pathCapacity() : m?.capacity;
}

/**
 * @internal A denial naming `key`. A cost above what the member could ever grant as its
 * capacities stand (its `capacity`, or a hierarchy node's smallest capacity up to the root)
 * can never be admitted without a change of capacity, and says so (`exceedsCapacity`, no
 * retry hint); any other carries the member's retry hint for `cost` when it has one.
 */
export function denial<K>(key: K, member: unknown, cost: number): Denial<K> {
  const capacity = capacityOf(member);
  if (typeof capacity === 'number' && cost > capacity) {
    return { ok: false, deniedBy: key, exceedsCapacity: true };
  }
  const retryAfterMs = retryAfterOf(member, cost);
  return retryAfterMs === undefined
    ? { ok: false, deniedBy: key }
    : { ok: false, deniedBy: key, retryAfterMs };
}
