import { assertAmount, type BudgetCapabilities, type RefillPolicy } from '@budgetry/core';
import { CalendarMarks } from './calendar-marks.js';
import { CountApi } from './count-api.js';
import { budgetKeys } from './keys.js';
import { resolveOptions } from './options.js';
import { IDENTITY, type ReclaimReport, type RedisCounters, RemoteCore } from './remote-core.js';
import { BUDGET_SCRIPT } from './script.js';
import { ScriptRunner } from './script-runner.js';

/**
 * A point-in-time view of a {@link RedisBudget}, read in one script call.
 *
 * @example
 * ```ts
 * import type { RedisBudgetSnapshot } from '@budgetry/redis';
 * const show = (s: RedisBudgetSnapshot) => `${s.available}/${s.capacity}, epoch ${s.epoch}`;
 * ```
 */
export interface RedisBudgetSnapshot extends RedisCounters {
  readonly capacity: number;
  readonly available: number;
  /** Units held in live epochs: count-API reservations plus live leases. */
  readonly held: number;
  /** The part of `held` reserved through the count API (not leased). */
  readonly countHeld: number;
}

/** @internal The counters the budget script reports for `get`. */
export interface RemoteCounters {
  readonly net: number;
  readonly reserved: number;
  readonly countHeld: number;
  readonly epoch: number;
  readonly consumed: number;
  readonly overReleased: number;
  readonly forgivenDebt: number;
  readonly expiredLeases: number;
  readonly expiredUnits: number;
  readonly leases: number;
  readonly serverTime: number;
  readonly nextRefillAt: number | undefined;
  readonly scriptReloads: number;
}

/**
 * @internal What {@link RedisBudget} and {@link RedisTokenBudget} share: one budget's state
 * under one hash tag, run by the budget script; the count API, reads, refills, the sweep of
 * expired leases and deletion. The subclasses add their handles (permits, token reservations).
 */
export abstract class RemoteBudget {
  /** Total capacity, fixed at creation: every process must give the same. */
  readonly capacity: number;
  /** The budget's name in Redis. */
  readonly name: string;
  /** What a refill does with units still held. */
  readonly refillPolicy: RefillPolicy;
  /**
   * Asynchronous, pool count release, its refill policy; partial commit for a guard's
   * permits; not schedulable.
   */
  readonly capabilities: BudgetCapabilities;
  /** @internal The budget's script runner and options, for RedisAllOf to reach its members. */
  readonly core: RemoteCore;
  private readonly count: CountApi;

  constructor(kind: 'guard' | 'token', capacity: number, options: unknown) {
    assertAmount(capacity, 'capacity');
    const o = resolveOptions(options, kind === 'token');
    const k = budgetKeys(o.keyPrefix, o.name, o.slot);
    const maxDebt = o.maxDebt === Number.POSITIVE_INFINITY ? -1 : o.maxDebt;
    const config = [
      kind,
      String(capacity),
      o.refillPolicy,
      o.calendar?.text ?? String(o.refillEveryMs),
      String(maxDebt),
      String(o.idempotencyWindowMs),
    ];
    const keys = [k.state, k.leases, k.deadlines, k.graveyard];
    const calendar =
      o.calendar && new CalendarMarks(o.calendar.schedule, o.calendar.text, o.calendar.unit);
    const runner = new ScriptRunner(
      o.redis,
      BUDGET_SCRIPT,
      keys,
      config,
      o.timeoutMs,
      o.name,
      calendar === undefined ? [] : [{ at: 3, marks: calendar }],
      o.maxBatch,
    );
    this.core = new RemoteCore(o, runner);
    this.capacity = capacity;
    this.name = o.name;
    this.refillPolicy = o.refillPolicy;
    this.count = new CountApi(this.core);
    // Epochs are the server's: a client-side scheduler driving refill() from every process
    // would refill once per process, so the budget is not schedulable (use refillEveryMs).
    this.capabilities = Object.freeze({
      sync: false,
      countRelease: true,
      partialCommit: kind === 'guard',
      retryHint: false,
      refill: this.refillPolicy,
      schedulable: false,
    });
  }

  /**
   * The same for every budget object on this budget's keys through the same client: compose
   * refuses two of them in one coordinator or combinator, as it refuses one object twice.
   */
  get [IDENTITY](): string {
    return this.core.identity;
  }

  /**
   * Reserve `cost` units through the count API (no handle: the caller remembers the cost).
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
   * Return `cost` units reserved with `tryReserve` (a token budget's refunds pay debt first).
   * Units beyond what the count API holds in the current epoch are ignored and counted (or,
   * with `strict`, the call rejects with `OVER_RELEASE` and changes nothing). Each call is a
   * new operation: a release retried after a timeout may return units twice (up to what the
   * count API holds).
   *
   * @param cost - a non-negative safe integer.
   */
  release(cost: number): Promise<void> {
    return this.count.release(cost);
  }

  /** Units that can be reserved right now (one call to Redis): 0 while in debt. */
  async available(): Promise<number> {
    return Math.max((await this.counters()).net, 0);
  }

  /**
   * Begin a new epoch now: with `reset` the budget becomes full and older handles are fenced
   * off; with `carry` it becomes capacity minus what is still held; debt is paid first. Many
   * processes refilling at one boundary should pass the epoch they saw as `ifEpoch`, so the
   * refill happens once.
   *
   * @param times - refills to apply at once (default 1), a positive safe integer.
   * @throws BudgetError `INVALID_ARGUMENT` when `times` is not a positive safe integer, or
   * would take the epoch past 2^53 − 1 (nothing changes); `TIMEOUT` / `BACKEND` when Redis
   * did not answer: the refill may have been applied. A copy the client re-sends is applied
   * once, but a call made again is a new refill: retry with the epoch read before as
   * `ifEpoch`, so that it begins no second epoch.
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

  /** Delete the budget's keys from Redis (its handles can no longer settle anything). */
  destroy(): Promise<void> {
    return this.core.destroy();
  }

  /** @internal Counters, read in one call. */
  protected async counters(): Promise<RemoteCounters> {
    const r = (await this.core.call('get', [])).v;
    const n = (i: number): number => r[i] ?? 0;
    return {
      net: n(0),
      reserved: n(1),
      countHeld: n(2),
      epoch: n(3),
      consumed: n(4),
      overReleased: n(5),
      forgivenDebt: n(6),
      expiredLeases: n(7),
      expiredUnits: n(8),
      leases: n(9),
      serverTime: n(10),
      nextRefillAt: n(11) < 0 ? undefined : n(11),
      scriptReloads: this.core.runner.stats.scriptReloads,
    };
  }

  /** @internal The counters every snapshot shows. */
  protected snapshotOf(c: RemoteCounters): RedisBudgetSnapshot {
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
}
