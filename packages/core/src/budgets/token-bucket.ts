import { assertAmount } from '../spec/amount.js';
import type { SyncBudgetGuard, SyncBudgetPermit } from '../spec/budget-guard.js';
import { type BudgetCapabilities, RATE_LIMITER_CAPABILITIES } from '../spec/capabilities.js';
import type { Clock } from '../spec/clock.js';
import type { BudgetObserver } from '../spec/events.js';
import type { RetryHint } from '../spec/retry-hint.js';
import { guardObserver } from './observer-list.js';
import { checkCommonOptions, describe, invalid } from './options.js';
import {
  clockOption,
  positiveInteger,
  RateObservers,
  type RateOwner,
  RatePermit,
  reportExcess,
  reportSettle,
} from './rate-events.js';
import { SyncGuardBase } from './sync-twins.js';

/**
 * Options for {@link tokenBucket}.
 *
 * @example
 * ```ts
 * import { type TokenBucketOptions, tokenBucket } from '@budgetry/core';
 *
 * // 100 per minute, bursts of 10, starting empty.
 * const options: TokenBucketOptions = { burst: 10, rate: 100, per: 60_000, initial: 0 };
 * const bucket = tokenBucket(options);
 * console.log(bucket.retryAfterMs(1)); // 600
 * ```
 */
export interface TokenBucketOptions {
  /** The most tokens the bucket holds: the largest burst (a non-negative safe integer). */
  burst: number;
  /** Tokens added every `per` milliseconds, continuously (a positive safe integer). */
  rate: number;
  /** The period `rate` is given over, in milliseconds (default 1 000: tokens per second). */
  per?: number;
  /** Tokens at the start (default `burst`). */
  initial?: number;
  /** The source of time (default `systemClock`). */
  clock?: Clock;
  /** Told of every event, as {@link TokenBucket.subscribe} listeners are. */
  observer?: BudgetObserver;
  /** Reported as `budget` in events. */
  name?: string;
}

/**
 * A token bucket with continuous refill; build it with {@link tokenBucket}. Accrual is
 * exact integer arithmetic: `rate` tokens per `per` ms, the fraction of a token carried over
 * in token-milliseconds, so rounding never invents a token.
 *
 * @example
 * ```ts
 * import { tokenBucket } from '@budgetry/core';
 *
 * const bucket = tokenBucket({ burst: 10, rate: 5 });
 * bucket.tryAcquireSync(3)?.commitSync();
 * ```
 */
export class TokenBucket extends SyncGuardBase implements SyncBudgetGuard, RetryHint, RateOwner {
  /** Synchronous, pool count release, partial commit, a retry hint; continuous, not epochs. */
  readonly capabilities: BudgetCapabilities = RATE_LIMITER_CAPABILITIES;

  /** The most tokens the bucket holds. */
  readonly capacity: number;
  /** Tokens added per `per` milliseconds. */
  readonly rate: number;
  /** The period of `rate`, in milliseconds. */
  readonly per: number;
  private readonly clock: Clock;
  private level: number;
  /** Fraction of a token accrued, in units of 1 / `per` token (0 ≤ frac < per). */
  private frac = 0;
  private last: number;
  private countHeld = 0;
  private overReleasedUnits = 0;
  private readonly observers: RateObservers;
  private readonly name: string | undefined;

  /** @internal Use {@link tokenBucket}. */
  constructor(options: TokenBucketOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw invalid(`tokenBucket expects options, got ${describe(options)}`, {});
    }
    checkCommonOptions(options);
    assertAmount(options.burst, 'burst');
    this.capacity = options.burst;
    this.rate = positiveInteger(options.rate, 'rate');
    this.per = options.per === undefined ? 1_000 : positiveInteger(options.per, 'per');
    if (!Number.isSafeInteger(this.capacity * this.per)) {
      throw invalid('burst × per must be a safe integer', { burst: this.capacity, per: this.per });
    }
    if (options.initial !== undefined) {
      assertAmount(options.initial, 'initial');
      if (options.initial > this.capacity) {
        throw invalid('initial must not exceed burst', { initial: options.initial });
      }
    }
    this.clock = clockOption(options.clock);
    this.level = options.initial ?? this.capacity;
    this.last = this.clock.now();
    this.observers = new RateObservers(guardObserver(options.observer));
    this.name = options.name;
  }

  /**
   * Add a listener for this bucket's events, beside the `observer` option: `reserve` and
   * `deny` for every reservation (count or permit), `release` when units come back (with
   * what did: a refund never fills past `burst`), `commit` for a permit kept (with `used` and
   * what a partial commit `refunded`), and `over-release` when the count API is asked to
   * release more than it holds. The continuous refill reports nothing: it is no epoch, and
   * it happens between operations, so the `available` each event carries is read after
   * accrual. Nobody listening costs one field check per operation.
   *
   * @param listener - called with every {@link BudgetEvent} after the state change.
   * @returns a function that removes the listener (calling it twice is harmless).
   * @throws BudgetError `INVALID_ARGUMENT` when `listener` is not a function.
   *
   * @example
   * ```ts
   * import { tokenBucket } from '@budgetry/core';
   *
   * const rps = tokenBucket({ burst: 2, rate: 1, name: 'rps' });
   * const stop = rps.subscribe((event) => {
   *   if (event.type === 'deny') console.log(`${event.budget} denied ${event.cost}`);
   * });
   * rps.tryReserveSync(3); // "rps denied 3"
   * stop();
   * ```
   */
  subscribe(listener: BudgetObserver): () => void {
    return this.observers.add(listener);
  }

  /** Tokens that can be taken right now. */
  available(): number {
    this.accrue();
    return this.level;
  }

  /**
   * Take `cost` tokens.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when the bucket held enough.
   */
  tryReserveSync(cost: number): boolean {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    this.accrue();
    if (cost > this.level) {
      if (this.observers.fn !== undefined) this.report('deny', cost);
      return false;
    }
    this.level -= cost;
    // Outstanding count reservations beyond 2^53 − 1 units are taken as spent: a release of
    // them is an over-release, never an inexact sum.
    this.countHeld = Math.min(this.countHeld + cost, Number.MAX_SAFE_INTEGER);
    if (this.observers.fn !== undefined) this.report('reserve', cost);
    return true;
  }

  /**
   * Give back `cost` tokens taken with the count API (the work did not happen). Never fills
   * past `burst`; units beyond what the count API holds are ignored and counted.
   *
   * @param cost - a non-negative safe integer.
   */
  releaseSync(cost: number): void {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    const accepted = Math.min(cost, this.countHeld);
    this.overReleasedUnits = Math.min(
      this.overReleasedUnits + cost - accepted,
      Number.MAX_SAFE_INTEGER,
    );
    this.countHeld -= accepted;
    const refunded = this.refund(accepted);
    const observer = this.observers.fn;
    if (observer !== undefined) {
      // What came back can be less than what was accepted: never past `burst`.
      reportSettle(observer, this.name, cost, cost, true, refunded, this.level);
      if (accepted !== cost) reportExcess(observer, this.name, cost, accepted);
    }
  }

  /**
   * Take `cost` tokens as a permit: `release()` gives them back (capped at `burst`),
   * `commit()` keeps them spent.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or `null` when the bucket is short.
   */
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    this.accrue();
    if (cost > this.level) {
      if (this.observers.fn !== undefined) this.report('deny', cost);
      return null;
    }
    this.level -= cost;
    if (this.observers.fn !== undefined) this.report('reserve', cost);
    return new RatePermit(this, cost);
  }

  /** Units the count API was asked to release beyond what it held (ignored). */
  overReleased(): number {
    return this.overReleasedUnits;
  }

  /**
   * How long until `cost` tokens will have accrued, if nothing else takes any.
   *
   * @param cost - the tokens wanted.
   * @returns milliseconds, or `undefined` when `cost` exceeds `burst`.
   */
  retryAfterMs(cost: number): number | undefined {
    assertAmount(cost, 'cost');
    if (cost > this.capacity) return undefined;
    this.accrue();
    if (cost <= this.level) return 0;
    const need = (cost - this.level) * this.per - this.frac;
    return Math.ceil(need / this.rate);
  }

  /** @internal Settles a permit: `back` of its `cost` units return, capped at `burst`. */
  settlePermit(cost: number, back: number, release: boolean): void {
    const refunded = this.refund(back);
    const observer = this.observers.fn;
    if (observer === undefined) return;
    reportSettle(observer, this.name, cost, back, release, refunded, this.level);
  }

  private report(type: 'reserve' | 'deny', cost: number): void {
    this.observers.fn!({ type, budget: this.name, cost, available: this.level });
  }

  /** Returns what actually came back: never past `burst`. */
  private refund(cost: number): number {
    this.accrue();
    const before = this.level;
    this.level = Math.min(this.capacity, before + cost);
    if (this.level === this.capacity) this.frac = 0;
    return this.level - before;
  }

  private accrue(): void {
    const now = this.clock.now();
    // A reading that is not a finite time adds nothing and is not kept: taken as the last
    // time, NaN would make every comparison false (no limit), Infinity would stop accrual.
    if (!Number.isFinite(now)) return;
    if (!Number.isFinite(this.last)) this.last = now; // an unreadable clock at construction
    const dt = now - this.last;
    if (dt <= 0) return; // a clock that steps back adds nothing
    this.last = now;
    if (this.level >= this.capacity) {
      this.frac = 0;
      return;
    }
    const need = (this.capacity - this.level) * this.per - this.frac;
    // Compare before multiplying, so a long idle gap cannot overflow the safe range.
    if (dt >= Math.ceil(need / this.rate)) {
      this.level = this.capacity;
      this.frac = 0;
      return;
    }
    const credit = dt * this.rate + this.frac;
    const whole = Math.floor(credit / this.per);
    this.level += whole;
    this.frac = credit - whole * this.per;
  }
}

/**
 * A token bucket: up to `burst` tokens, refilled continuously at `rate` per `per`
 * milliseconds. A request takes its cost in tokens; a permit released gives them back
 * (never past `burst`). Denials know exactly when enough will have accrued.
 *
 * When to use: smooth rate limits with bounded bursts (requests or tokens per second, a
 * provider's RPM), where a fixed-window refill would allow a double burst at the edge. Use
 * {@link slidingWindow} for "at most N in any window of W ms" exactly.
 *
 * @param options - `burst`, `rate`, `per`, `initial`, `clock`, and `name` and `observer` for
 * its events (see {@link TokenBucket.subscribe}).
 * @returns the bucket, a synchronous guard.
 * @throws BudgetError `INVALID_ARGUMENT` for a zero or negative rate or period, or
 * `INVALID_AMOUNT` for a bad burst.
 *
 * @example
 * ```ts
 * import { tokenBucket } from '@budgetry/core';
 *
 * const rps = tokenBucket({ burst: 20, rate: 10 }); // 10 per second, bursts of 20
 * if (!rps.tryReserveSync(1)) console.log(`retry in ${rps.retryAfterMs(1)} ms`);
 * ```
 */
export function tokenBucket(options: TokenBucketOptions): TokenBucket {
  return new TokenBucket(options);
}
