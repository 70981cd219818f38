import {
  assertAmount,
  type BudgetCapabilities,
  type PermitBudgetGuard,
  type RefillPolicy,
} from '@budgetry/core';
import { CountApi } from './count-api.js';
import type { RedisBudgetOptions } from './options.js';
import { RedisPermit } from './redis-permit.js';
import { type ReclaimReport, RemoteCore } from './remote-core.js';

/**
 * A point-in-time view of a {@link RedisBudget}, read in one script call.
 *
 * @example
 * ```ts
 * import type { RedisBudgetSnapshot } from '@budgetry/redis';
 * const show = (s: RedisBudgetSnapshot) => `${s.available}/${s.capacity}, epoch ${s.epoch}`;
 * ```
 */
export interface RedisBudgetSnapshot {
  readonly capacity: number;
  readonly available: number;
  /** Units held in live epochs: count-API reservations plus live leases. */
  readonly held: number;
  /** The part of `held` reserved through the count API (not leased). */
  readonly countHeld: number;
  /** Leases live in Redis (any epoch). */
  readonly leases: number;
  readonly epoch: number;
  /** Units the count API was asked to release beyond what it held, and ignored. */
  readonly overReleased: number;
  /** Leases that expired before they were settled, since the budget was created. */
  readonly expiredLeases: number;
  /** The units those leases held. */
  readonly expiredUnits: number;
  /** The Redis server's clock when the snapshot was taken (ms since the Unix epoch). */
  readonly serverTime: number;
  /** When the next epoch begins, in server time, under `refillEveryMs`. */
  readonly nextRefillAt: number | undefined;
  /** Calls this process re-sent with the script's text after a `NOSCRIPT` answer. */
  readonly scriptReloads: number;
}

/**
 * Options of {@link RedisBudget.tryAcquire}.
 *
 * @example
 * ```ts
 * import type { AcquireOptions } from '@budgetry/redis';
 * const longJob: AcquireOptions = { leaseMs: 10 * 60_000 };
 * ```
 */
export interface AcquireOptions {
  /** This permit's lease length (default: the budget's `leaseMs`). */
  readonly leaseMs?: number;
}

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
export class RedisBudget implements PermitBudgetGuard {
  /** Total capacity, fixed at creation: every process must give the same. */
  readonly capacity: number;
  /** The budget's name in Redis. */
  readonly name: string;
  /** What a refill does with held units. */
  readonly refillPolicy: RefillPolicy;
  /** Asynchronous, pool count release, partial commit, its refill policy; not schedulable. */
  readonly capabilities: BudgetCapabilities;
  private readonly core: RemoteCore;
  private readonly count: CountApi;

  /**
   * @param capacity - total units, a non-negative safe integer. The budget is created full on
   * first use; a budget of the same name with another capacity, policy or period is refused
   * (`INVALID_ARGUMENT`) rather than silently shared.
   * @param options - client, name, and the optional settings of {@link RedisBudgetOptions}.
   */
  constructor(capacity: number, options: RedisBudgetOptions) {
    this.core = new RemoteCore('guard', capacity, options);
    this.capacity = capacity;
    this.name = this.core.o.name;
    this.refillPolicy = this.core.o.refillPolicy;
    this.count = new CountApi(this.core);
    // Epochs are the server's: a client-side scheduler driving refill() from every process
    // would refill once per process, so the budget is not schedulable (use refillEveryMs).
    this.capabilities = Object.freeze({
      sync: false,
      countRelease: true,
      partialCommit: true,
      retryHint: false,
      refill: this.refillPolicy,
      schedulable: false,
    });
  }

  /**
   * Reserve `cost` units through the count API.
   *
   * @param cost - a non-negative safe integer; 0 is always granted, more than capacity never.
   * @returns `true` when reserved, `false` on soft denial.
   * @throws BudgetError `INVALID_AMOUNT` before anything is sent; `BACKEND` / `TIMEOUT` when
   * Redis did not answer and the budget fails closed.
   */
  tryReserve(cost: number): Promise<boolean> {
    return this.count.tryReserve(cost);
  }

  /**
   * Return `cost` units reserved with {@link RedisBudget.tryReserve}. Units beyond what the
   * count API holds in the current epoch are ignored and counted (or, with `strict`, the call
   * rejects with `OVER_RELEASE` and changes nothing). Each call is a new operation: a release
   * retried after a timeout may return units twice (up to what the count API holds).
   *
   * @param cost - a non-negative safe integer.
   */
  release(cost: number): Promise<void> {
    return this.count.release(cost);
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
    const leaseMs = this.core.leaseMs(options);
    const id = this.core.nextId();
    try {
      const { v, net } = await this.core.call('acq', [id, String(cost), String(leaseMs)]);
      const [granted = 0, epoch = 0, deadline = 0] = v;
      if (!this.core.admitted(granted === 1, cost, net)) return null;
      return new RedisPermit(this.core, id, cost, epoch, deadline > 0 ? deadline : undefined, true);
    } catch (error) {
      return await this.core.failed(
        error,
        id,
        () => new RedisPermit(this.core, id, cost, -1, undefined, false),
      );
    }
  }

  /** Units that can be reserved right now (one call to Redis). */
  async available(): Promise<number> {
    return Math.max((await this.core.counters()).net, 0);
  }

  /** Units held in live epochs: count reservations plus live leases. */
  async held(): Promise<number> {
    return (await this.core.counters()).reserved;
  }

  /** All counters at once, in one call. */
  async snapshot(): Promise<RedisBudgetSnapshot> {
    const c = await this.core.counters();
    return {
      capacity: this.capacity,
      available: Math.max(c.net, 0),
      held: c.reserved,
      countHeld: c.countHeld,
      leases: c.leases,
      epoch: c.epoch,
      overReleased: c.overReleased,
      expiredLeases: c.expiredLeases,
      expiredUnits: c.expiredUnits,
      serverTime: c.serverTime,
      nextRefillAt: c.nextRefillAt,
      scriptReloads: c.scriptReloads,
    };
  }

  /**
   * Begin a new epoch now: with `reset` the budget becomes full and older permits are fenced
   * off; with `carry` it becomes capacity minus what is still held. Many processes refilling
   * at one boundary should pass the epoch they saw as `ifEpoch`, so the refill happens once.
   *
   * @param times - refills to apply at once (default 1), a positive safe integer.
   * @param ifEpoch - refill only if the budget is still in this epoch.
   * @returns whether the refill was applied.
   */
  refill(times = 1, ifEpoch?: number): Promise<boolean> {
    return this.core.refill(times, ifEpoch);
  }

  /**
   * Settle every lease whose time ran out, refunding each once (expired leases are also swept,
   * a few at a time, by every other call).
   *
   * @returns what came back.
   */
  reclaimExpired(): Promise<ReclaimReport> {
    return this.core.reclaimExpired();
  }

  /** Delete the budget's keys from Redis (its permits can no longer settle anything). */
  destroy(): Promise<void> {
    return this.core.destroy();
  }
}
