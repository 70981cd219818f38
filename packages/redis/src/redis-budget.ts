import { assertAmount, type PermitBudgetGuard } from '@budgetry/core';
import type { AcquireOptions, RedisBudgetOptions } from './options.js';
import { RedisPermit } from './redis-permit.js';
import { type RedisBudgetSnapshot, RemoteBudget } from './remote-budget.js';

/**
 * One budget for a whole fleet: a guard whose state lives in Redis, shared by every process
 * that opens the same `name`. Every operation — reserve, release, commit (whole or partial),
 * refill, the sweep of expired leases — is one Lua script, atomic on the server, one round
 * trip. Time (epochs, lease expiry) is the Redis server's clock, never the callers'.
 *
 * Semantics are those of core's `AtomicBudget`: the count API with pool release (over-release
 * clamped and counted, or refused with `strict`), permits settled exactly once and fenced to
 * their epoch, `reset` / `carry` refills, partial commit. What Redis adds:
 * - permits are leases: a process that dies holding one gets its units refunded, once, when
 *   the lease expires (`leaseMs`); every call sweeps expired leases, `reclaimExpired()` sweeps
 *   them all, and the observer hears of them as `leak` events;
 * - every mutation carries an id, so a command the client sends twice (a reconnect resending
 *   it) or a settle retried after a timeout is applied once;
 * - a failure policy: fail closed (reject with `BudgetError`) by default, fail open on request.
 *
 * The count API (`tryReserve` / `release`) is not leased — the caller remembers the cost, so
 * Redis cannot tell whose units they are: what a crashed process reserved that way, or a
 * reservation that reached Redis after its caller gave up on it (the error's
 * `details.undone` is then `false`), stays held until a count release returns it or a `reset`
 * refill. Prefer permits across processes.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisBudget } from '@budgetry/redis';
 *
 * const redis = new Redis(); // 127.0.0.1:6379
 * const rows = new RedisBudget(1_000, { redis, name: 'rows', refillEveryMs: 60_000 });
 * const permit = await rows.tryAcquire(250);
 * if (permit) {
 *   // ... parse up to 250 rows ...
 *   await permit.commit(180); // 70 go back
 * }
 * redis.disconnect();
 * ```
 */
export class RedisBudget extends RemoteBudget implements PermitBudgetGuard {
  /**
   * @param capacity - total units, a non-negative safe integer. The budget is created full on
   * first use; a budget of the same name with another capacity, policy or period is refused
   * (`INVALID_ARGUMENT`) rather than silently shared.
   * @param options - client, name, and the optional settings of {@link RedisBudgetOptions}.
   */
  constructor(capacity: number, options: RedisBudgetOptions) {
    super('guard', capacity, options);
  }

  /**
   * Reserve `cost` units as a leased permit.
   *
   * @param cost - a non-negative safe integer.
   * @param options - this permit's lease length.
   * @returns a held permit, or `null` on soft denial.
   * @throws BudgetError as {@link RedisBudget.tryReserve}.
   */
  async tryAcquire(cost: number, options?: AcquireOptions): Promise<RedisPermit | null> {
    assertAmount(cost, 'cost');
    const { handle } = await this.core.lease(
      cost,
      options,
      [],
      (id, epoch, deadline, backed) =>
        new RedisPermit(this.core, id, cost, epoch, deadline, backed),
    );
    return handle;
  }

  /** Units held in live epochs: count reservations plus live leases. */
  async held(): Promise<number> {
    return (await this.counters()).reserved;
  }

  /** All counters at once, in one call. */
  async snapshot(): Promise<RedisBudgetSnapshot> {
    return this.snapshotOf(await this.counters());
  }
}
