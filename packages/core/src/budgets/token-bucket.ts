import { assertAmount } from '../spec/amount.js';
import type { PermitState, SyncBudgetGuard, SyncBudgetPermit } from '../spec/budget-guard.js';
import { type BudgetCapabilities, RATE_LIMITER_CAPABILITIES } from '../spec/capabilities.js';
import type { Clock } from '../spec/clock.js';
import { PermitCode, permitStateOf } from '../spec/permit-state.js';
import type { RetryHint } from '../spec/retry-hint.js';
import { describe, invalid } from './options.js';
import { checkUsed, SyncBudgetPermitBase } from './sync-permit-base.js';
import { SyncGuardBase } from './sync-twins.js';
import { systemClock } from './system-clock.js';

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
}

const { held: HELD, released: RELEASED, committed: COMMITTED } = PermitCode;

/** @internal Anything that takes units back, capped, when a permit is released. */
interface Refundable {
  refund(cost: number): void;
}

/** @internal A permit whose release gives its units back to a rate limiter. */
export class RatePermit extends SyncBudgetPermitBase {
  private stateCode: number = HELD;
  constructor(
    private readonly owner: Refundable,
    readonly cost: number,
  ) {
    super();
  }
  get epoch(): number {
    return 0;
  }
  get state(): PermitState {
    return permitStateOf(this.stateCode);
  }
  releaseSync(): boolean {
    if (this.stateCode !== HELD) return false;
    this.stateCode = RELEASED;
    this.owner.refund(this.cost);
    return true;
  }
  commitSync(used?: number): boolean {
    const spent = used === undefined ? this.cost : checkUsed(used, this.cost);
    if (this.stateCode !== HELD) return false;
    this.stateCode = COMMITTED;
    if (spent < this.cost) this.owner.refund(this.cost - spent);
    return true;
  }
}

/** @internal */
export function positiveInteger(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    throw invalid(`${name} must be a positive safe integer, got ${describe(value)}`, {
      [name]: value,
    });
  }
  return value as number;
}

/** @internal */
export function clockOption(clock: unknown): Clock {
  if (clock === undefined) return systemClock;
  const c = clock as Partial<Clock> | null;
  if (typeof c?.now !== 'function' || typeof c.setTimer !== 'function') {
    throw invalid('option clock must have now() and setTimer()', {});
  }
  return clock as Clock;
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
export class TokenBucket extends SyncGuardBase implements SyncBudgetGuard, RetryHint, Refundable {
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

  /** @internal Use {@link tokenBucket}. */
  constructor(options: TokenBucketOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw invalid(`tokenBucket expects options, got ${describe(options)}`, {});
    }
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
    if (cost > this.level) return false;
    this.level -= cost;
    // Outstanding count reservations beyond 2^53 − 1 units are taken as spent: a release of
    // them is an over-release, never an inexact sum.
    this.countHeld = Math.min(this.countHeld + cost, Number.MAX_SAFE_INTEGER);
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
    this.refund(accepted);
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
    if (cost > this.level) return null;
    this.level -= cost;
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

  /** @internal */
  refund(cost: number): void {
    this.accrue();
    this.level = Math.min(this.capacity, this.level + cost);
    if (this.level === this.capacity) this.frac = 0;
  }

  private accrue(): void {
    const now = this.clock.now();
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
 * @param options - `burst`, `rate`, `per`, `initial`, `clock`.
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
