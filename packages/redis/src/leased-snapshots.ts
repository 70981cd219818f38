// What a RedisLeasedBudget reports of itself and of its pool.

/**
 * What one {@link RedisLeasedBudget} knows locally, read without a round trip.
 *
 * @example
 * ```ts
 * import type { RedisLeasedBudgetSnapshot } from '@budgetry/redis';
 * const starved = (s: RedisLeasedBudgetSnapshot) => s.leased === 0 && s.denials > 0;
 * ```
 */
export interface RedisLeasedBudgetSnapshot {
  /** The pool's capacity, shared by every process. */
  readonly capacity: number;
  /** This process's slice of it: what it may hold (0 once the lease ran out unrenewed). */
  readonly leased: number;
  /** Units reserved here and not yet released. */
  readonly held: number;
  /** Units that can be reserved here right now. */
  readonly available: number;
  /** Renewals that reached Redis (the first lease included). */
  readonly renewals: number;
  /** Renewals or returns that failed (Redis unreachable, timed out). */
  readonly failures: number;
  /** Renewals that found this process's lease already run out in Redis. */
  readonly lapses: number;
  /** Reservations refused here. */
  readonly denials: number;
  /** Units released beyond what was held (clamped and ignored). */
  readonly overReleased: number;
  /** Milliseconds until the lease runs out if not renewed (0 when it has). */
  readonly expiresInMs: number;
}

/**
 * What the pool holds in Redis, across every process, from {@link RedisLeasedBudget.pool}.
 *
 * @example
 * ```ts
 * import type { RedisLeasePoolSnapshot } from '@budgetry/redis';
 * const within = (p: RedisLeasePoolSnapshot) => p.leased <= p.capacity;
 * ```
 */
export interface RedisLeasePoolSnapshot {
  /** The pool's capacity. */
  readonly capacity: number;
  /** Units leased out to live leases: never more than `capacity`. */
  readonly leased: number;
  /** Processes holding a live lease. */
  readonly clients: number;
  /** Leases that ran out unrenewed since the pool was created (dead or cut-off holders). */
  readonly expiredLeases: number;
  /** The units those leases held. */
  readonly expiredUnits: number;
  /** The Redis server's clock (ms since the Unix epoch). */
  readonly serverTime: number;
}
