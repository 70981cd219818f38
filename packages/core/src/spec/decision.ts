/**
 * The outcome of a detailed reservation on a combinator: the permit, or which member denied
 * and, when that member's refill schedule knows, how long until a retry could succeed.
 * Compose's `allOf`, coordinator and hierarchy nodes, `SharedHierarchy` nodes, and Redis's
 * `RedisAllOf` and hierarchy nodes, say `exceedsCapacity: true` instead when the cost is above
 * what the denying member could ever grant as its capacities stand (its `capacity`; for a
 * hierarchy node, the smallest on its path to the root; for a combinator or wrapper, what the
 * guards it is made of could grant): no refill or release can admit it, only a larger
 * capacity, so waiting is pointless.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type Decision, type SyncBudgetPermit } from '@budgetry/core';
 *
 * const rows = new AtomicBudget(5);
 * const permit = rows.tryAcquireSync(8);
 * const decision: Decision<'rows', SyncBudgetPermit> =
 *   permit === null ? { ok: false, deniedBy: 'rows' } : { ok: true, permit };
 * if (!decision.ok) console.log(`denied by ${decision.deniedBy}`); // 'denied by rows'
 * ```
 */
export type Decision<K, P> =
  | { readonly ok: true; readonly permit: P }
  | {
      readonly ok: false;
      readonly deniedBy: K;
      readonly retryAfterMs?: number;
      /** The cost is above what the denying member could grant at its present capacities. */
      readonly exceedsCapacity?: true;
    };
