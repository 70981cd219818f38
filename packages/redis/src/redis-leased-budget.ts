import { randomBytes } from 'node:crypto';
import {
  assertAmount,
  type BudgetCapabilities,
  BudgetError,
  type SyncBudgetPermit,
  SyncGuardBase,
} from '@budgetry/core';
import { LEASE_SCRIPT, leaseConfig, leasePoolKeys } from './lease-script.js';
import type { LeaseShareAlgorithm } from './lease-share.js';
import {
  type RedisLeasedBudgetOptions,
  type ResolvedLeasedOptions,
  resolveLeasedOptions,
} from './leased-options.js';
import type { RedisLeasedBudgetSnapshot, RedisLeasePoolSnapshot } from './leased-snapshots.js';
import { ScriptRunner } from './script-runner.js';

const CAPABILITIES: BudgetCapabilities = Object.freeze({
  sync: true,
  countRelease: true,
  partialCommit: false,
  retryHint: false,
  refill: undefined,
  schedulable: false,
});

/** Denials trigger a renewal at most this often (ms), so a refused burst asks once, soon. */
const EAGER_GAP_MS = 20;

/**
 * A budget in this process that serves a slice of a pool in Redis, in the manner of Google's
 * Doorman: `tryReserveSync` / `releaseSync` touch only local fields (tens of millions of pairs
 * per second), and a background renewal — an unref'd timer, every `renewEveryMs` — reports
 * what this process wants and gets its share back, decided in one Lua script from every live
 * process's wants (`equal` or `proportional`). Redis keeps the sum of all leases at or below
 * the capacity; this process never holds more than its lease.
 *
 * Guarantees and costs:
 * - A lease runs out `leaseMs` after the renewal that granted it, in server time; locally it
 *   ends a little earlier (measured from when the renewal was sent), after which every
 *   reservation is refused until a renewal succeeds. A process that dies strands its slice for
 *   at most `leaseMs`, then the slice comes back once; what it admitted died with it, so a dead
 *   holder causes no over-admission.
 * - A process cut off from Redis for longer than its lease keeps the units it already holds
 *   while Redis gives them out again: over-admission is bounded by what it held when the lease
 *   ran out, and counted as a lapse when it reconnects.
 * - A shrinking share takes back only what is not held: the lease stays at least what is held
 *   until it is released. Unused slices go back at the next renewal (when idle the default
 *   demand is zero), and on `close()`.
 * - Not supported: permits (`tryAcquireSync` throws), commit, refills and epochs (a slice is
 *   held until released), observers; a pool has its own keys, apart from a `RedisBudget` of the
 *   same name.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RedisLeasedBudget } from '@budgetry/redis';
 *
 * const redis = new Redis();
 * const slots = await RedisLeasedBudget.open(100, { redis, name: 'crawler-connections' });
 * if (slots.tryReserveSync(1)) {
 *   // ... one connection's work ...
 *   slots.releaseSync(1);
 * }
 * await slots.close(); // the slice goes back at once
 * redis.disconnect();
 * ```
 */
export class RedisLeasedBudget extends SyncGuardBase {
  /** The pool's capacity, shared by every process that opens it. */
  readonly capacity: number;
  /** How the pool divides its capacity. */
  readonly algorithm: LeaseShareAlgorithm;
  private readonly o: ResolvedLeasedOptions;
  private readonly runner: ScriptRunner;
  private readonly id = randomBytes(9).toString('base64url');
  private readonly marginMs: number;
  private limit = 0;
  private heldUnits = 0;
  private validUntil = Number.NEGATIVE_INFINITY;
  private peak = 0;
  private refused = 0;
  private closed = false;
  private pending: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private renewals = 0;
  private failures = 0;
  private lapses = 0;
  private denials = 0;
  private overReleasedUnits = 0;

  /** Synchronous, pool count release; no partial commit, epochs or schedule. */
  get capabilities(): BudgetCapabilities {
    return CAPABILITIES;
  }

  private constructor(capacity: number, o: ResolvedLeasedOptions) {
    super();
    this.capacity = capacity;
    this.algorithm = o.algorithm;
    this.o = o;
    this.marginMs = Math.max(1, Math.min(500, Math.floor(o.leaseMs / 20)));
    const config = leaseConfig(capacity, o.algorithm);
    const keys = leasePoolKeys(o.keyPrefix, o.name);
    this.runner = new ScriptRunner(o.redis, LEASE_SCRIPT, keys, config, o.timeoutMs, o.name);
  }

  /**
   * Deletes the pool named `options.name` under `options.keyPrefix`: its configuration and
   * every process's lease. For a pool no process has open — to open it again with another
   * capacity or algorithm, say: a member still open would spend the slice it holds while new
   * members share the whole capacity again, until its next renewal joins the new pool.
   *
   * @param options - the client, name and key prefix the pool was opened with.
   * @throws BudgetError `INVALID_ARGUMENT` for bad options (nothing is deleted), `BACKEND`
   * when Redis fails.
   */
  static async destroy(
    options: Pick<RedisLeasedBudgetOptions, 'redis' | 'name' | 'keyPrefix'>,
  ): Promise<void> {
    const o = resolveLeasedOptions(0, options);
    const keys = leasePoolKeys(o.keyPrefix, o.name);
    try {
      await o.redis.eval("return redis.call('DEL', unpack(KEYS))", keys.length, ...keys);
    } catch (error) {
      throw new BudgetError({
        code: 'BACKEND',
        message: `Redis failed to delete lease pool ${JSON.stringify(o.name)}: ${String(error)}`,
        details: { budget: o.name },
        cause: error,
      });
    }
  }

  /**
   * Joins the pool named `options.name` (creating it on first use) and takes a first lease.
   *
   * @param capacity - the pool's capacity, a non-negative safe integer; every process must
   * open the pool with the same capacity and algorithm (else `INVALID_ARGUMENT`).
   * @param options - client, name, algorithm, lease timing and demand.
   * @returns the budget, holding its first lease (possibly 0 units, when others hold it all).
   * @throws BudgetError `INVALID_ARGUMENT` / `INVALID_AMOUNT` for bad options, `BACKEND` or
   * `TIMEOUT` when the first lease cannot be taken (a lease the request took all the same is
   * given back by a call sent behind it; if that fails, or the request is sent again behind
   * it after a `NOSCRIPT`, the lease runs out after `leaseMs`).
   */
  static async open(
    capacity: number,
    options: RedisLeasedBudgetOptions,
  ): Promise<RedisLeasedBudget> {
    const budget = new RedisLeasedBudget(capacity, resolveLeasedOptions(capacity, options));
    const error = await budget.renew();
    if (error !== undefined) {
      budget.closed = true;
      clearTimeout(budget.timer);
      // The request may have reached Redis with its answer lost, leasing a slice to a process
      // that will never use it: give back whatever it leased, sent behind it on the same
      // connection, not waited for (a failure changes nothing: the lease then runs out).
      void budget.runner.run('ret', [budget.id, '0', String(budget.o.leaseMs)]).catch(() => {});
      throw error;
    }
    return budget;
  }

  /**
   * Reserve `cost` units from this process's slice, synchronously; no round trip.
   *
   * @param cost - a non-negative safe integer; 0 is always granted.
   * @returns `true` when reserved, `false` when the slice has no room or its lease ran out.
   * @throws BudgetError `INVALID_AMOUNT` for a bad cost, `CLOSED` after `close()`.
   */
  tryReserveSync(cost: number): boolean {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    if (this.closed) throw closedError(this.o.name);
    if (cost > this.limit - this.heldUnits || performance.now() >= this.validUntil) {
      if (cost === 0) return true;
      this.deny(cost);
      return false;
    }
    this.heldUnits += cost;
    if (this.heldUnits > this.peak) this.peak = this.heldUnits;
    return true;
  }

  /**
   * Return `cost` reserved units to this process's slice (allowed after `close()` too).
   * Beyond what is held, units are ignored and counted (or, with `strict`, `OVER_RELEASE`).
   *
   * @param cost - a non-negative safe integer.
   */
  releaseSync(cost: number): void {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    if (cost <= this.heldUnits) {
      this.heldUnits -= cost;
      return;
    }
    if (this.o.strict) {
      throw new BudgetError({
        code: 'OVER_RELEASE',
        message: `release(${cost}) exceeds the ${this.heldUnits} units held`,
        details: { budget: this.o.name, cost, held: this.heldUnits },
      });
    }
    this.overReleasedUnits += cost - this.heldUnits;
    this.heldUnits = 0;
  }

  /**
   * Permits are not supported: a leased slice is a count of units.
   *
   * @throws BudgetError `INVALID_ARGUMENT`, always.
   */
  tryAcquireSync(_cost: number): SyncBudgetPermit | null {
    throw new BudgetError({
      code: 'INVALID_ARGUMENT',
      message: 'RedisLeasedBudget has no permits: use tryReserveSync / releaseSync',
      details: { budget: this.o.name },
    });
  }

  /** Units that can be reserved here right now. */
  available(): number {
    if (this.closed || performance.now() >= this.validUntil) return 0;
    return Math.max(0, this.limit - this.heldUnits);
  }

  /** Units reserved here and not yet released. */
  held(): number {
    return this.heldUnits;
  }

  /** This process's slice: what it may hold now (0 once the lease ran out unrenewed). */
  leased(): number {
    return this.closed || performance.now() >= this.validUntil ? 0 : this.limit;
  }

  /** All local counters at once. */
  snapshot(): RedisLeasedBudgetSnapshot {
    return {
      capacity: this.capacity,
      leased: this.leased(),
      held: this.heldUnits,
      available: this.available(),
      renewals: this.renewals,
      failures: this.failures,
      lapses: this.lapses,
      denials: this.denials,
      overReleased: this.overReleasedUnits,
      expiresInMs: Math.max(0, this.validUntil - performance.now()),
    };
  }

  /**
   * Reads the pool in Redis (one script call, which also settles leases that ran out).
   *
   * @returns what is leased across all processes, to how many, and what expired.
   */
  async pool(): Promise<RedisLeasePoolSnapshot> {
    const [leased = 0, clients = 0, expiredLeases = 0, expiredUnits = 0, serverTime = 0] =
      await this.runner.run('get', []);
    return { capacity: this.capacity, leased, clients, expiredLeases, expiredUnits, serverTime };
  }

  /**
   * Renews now rather than at the next tick (the timer does it on its own).
   *
   * @returns once the renewal is answered.
   * @throws BudgetError `BACKEND` / `TIMEOUT` when it fails (the current lease stands).
   */
  async renewNow(): Promise<void> {
    if (this.pending !== undefined) await this.pending;
    const error = await this.renew();
    if (error !== undefined) throw error;
  }

  /**
   * Stops renewing and gives the slice back, except units still held: those stay leased until
   * the lease runs out (`leaseMs`), so release them first to return everything at once.
   * Reservations after it throw `CLOSED`. Calling it again returns the same Promise.
   *
   * @throws BudgetError `BACKEND` / `TIMEOUT` when the return fails (the slice then comes
   * back when the lease runs out).
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    clearTimeout(this.timer);
    this.closing = (async () => {
      if (this.pending !== undefined) await this.pending;
      const cover = Math.max(0, this.heldUnits);
      await this.runner.run('ret', [this.id, String(cover), String(this.o.leaseMs)]);
      this.limit = 0;
    })();
    return this.closing;
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** `close()` without waiting, for `using`; a failure goes to `onError`. */
  [Symbol.dispose](): void {
    this.close().catch((error: unknown) => this.report(error));
  }

  private deny(cost: number): void {
    this.denials++;
    if (cost <= this.capacity) this.refused += cost;
    if (this.pending === undefined && performance.now() - this.lastSentAt >= EAGER_GAP_MS) {
      void this.renew();
    }
  }

  /** What to ask for at first: `initialWants`, else `wants()`, else the whole capacity. */
  private firstWants(): number {
    if (this.o.initialWants !== undefined) return this.o.initialWants;
    return this.o.wants === undefined ? this.capacity : this.wantsNow();
  }

  /** What to ask for: the `wants` option, else what was used since the last renewal. */
  private wantsNow(): number {
    if (this.o.wants !== undefined) {
      try {
        const wants = this.o.wants();
        assertAmount(wants, 'wants()');
        return Math.min(wants, this.capacity);
      } catch (error) {
        this.report(error);
      }
    }
    const used = Math.ceil((this.peak + this.refused) * (1 + this.o.headroom));
    return Math.min(used, this.capacity);
  }

  /** One renewal; resolves the failure, if any, after reporting it. Never two at once. */
  private renew(): Promise<BudgetError | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    if (this.pending !== undefined) return this.pending.then(() => undefined);
    const first = this.renewals === 0 && this.failures === 0;
    const wants = first ? this.firstWants() : this.wantsNow();
    // Wanting less than it has, it gives the rest up now (lowering is always safe locally), so
    // this very renewal returns it. Until the answer comes, it may hold up to its slice: Redis
    // keeps at least that much leased to it, whatever share it computes.
    if (wants < this.limit) this.limit = Math.max(wants, this.heldUnits);
    const cover = Math.max(this.limit, this.heldUnits);
    const sentAt = performance.now();
    this.lastSentAt = sentAt;
    this.peak = this.heldUnits;
    this.refused = 0;
    const { leaseMs } = this.o;
    const args = [this.id, String(wants), String(cover), String(leaseMs)];
    let failure: BudgetError | undefined;
    const done = this.runner.run('req', args).then(
      ([target = 0, , , lost = 0]) => {
        this.renewals++;
        if (lost === 1) this.lapses++;
        if (this.closed) return;
        this.limit = target;
        this.validUntil = sentAt + leaseMs - this.marginMs;
      },
      (error: unknown) => {
        this.failures++;
        failure = error as BudgetError;
        this.report(error);
      },
    );
    this.pending = done.then(() => {
      this.pending = undefined;
      this.schedule(failure === undefined ? this.o.renewEveryMs : this.retryMs());
    });
    return this.pending.then(() => failure);
  }

  private retryMs(): number {
    return Math.max(EAGER_GAP_MS, Math.floor(this.o.renewEveryMs / 4));
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renew(), ms);
    this.timer.unref?.();
  }

  private report(error: unknown): void {
    const onError = this.o.onError;
    if (onError === undefined) return;
    try {
      onError(BudgetError.isInstance(error) ? error : wrap(error, this.o.name));
    } catch {
      // A throwing reporter must not stop the renewals.
    }
  }
}

function closedError(name: string): BudgetError {
  return new BudgetError({
    code: 'CLOSED',
    message: `leased budget ${JSON.stringify(name)} is closed`,
    details: { budget: name },
  });
}

function wrap(error: unknown, name: string): BudgetError {
  return new BudgetError({
    code: 'BACKEND',
    message: `leased budget ${JSON.stringify(name)}: ${String(error)}`,
    details: { budget: name },
    cause: error,
  });
}
