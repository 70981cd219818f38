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
  RatePermit,
  reportExcess,
  reportSettle,
} from './rate-events.js';
import { SyncGuardBase } from './sync-twins.js';

/**
 * Options for {@link slidingWindow}.
 *
 * @example
 * ```ts
 * import { type SlidingWindowOptions, slidingWindow } from '@budgetry/core';
 *
 * // A provider's contract: never more than 500 requests in any 60 seconds.
 * const options: SlidingWindowOptions = { limit: 500, windowMs: 60_000 };
 * const rpm = slidingWindow(options);
 * rpm.tryReserveSync(1);
 * ```
 */
export interface SlidingWindowOptions {
  /** The most units in any window (a non-negative safe integer). */
  limit: number;
  /** The window length in milliseconds (a positive safe integer). */
  windowMs: number;
  /** The source of time (default `systemClock`). */
  clock?: Clock;
  /** Told of every event, as {@link SlidingWindow.subscribe} listeners are. */
  observer?: BudgetObserver;
  /** Reported as `budget` in events. */
  name?: string;
}

/**
 * An exact sliding window; build it with {@link slidingWindow}. Grants are logged per
 * millisecond (grants in the same millisecond share an entry), so memory is bounded by the
 * number of distinct milliseconds with traffic in one window.
 *
 * @example
 * ```ts
 * import { slidingWindow } from '@budgetry/core';
 *
 * const window = slidingWindow({ limit: 100, windowMs: 60_000 });
 * window.tryAcquireSync(10)?.releaseSync(); // released: out of the window again
 * ```
 */
export class SlidingWindow extends SyncGuardBase implements SyncBudgetGuard, RetryHint {
  /** Synchronous, pool count release, partial commit, a retry hint; continuous, not epochs. */
  readonly capabilities: BudgetCapabilities = RATE_LIMITER_CAPABILITIES;

  /** The most units in any window. */
  readonly capacity: number;
  /** The window length in milliseconds. */
  readonly windowMs: number;
  private readonly clock: Clock;
  /** The last finite time the clock gave (see `now`). */
  private lastNow = 0;
  private times: number[] = [];
  private costs: number[] = [];
  /** Index of the oldest live entry in `times` / `costs`. */
  private head = 0;
  /** Sequence number of `times[0]`, so permits can find their entry after compaction. */
  private base = 0;
  /** Units of each entry granted through the count API (the rest belong to permits). */
  private counted: number[] = [];
  private used = 0;
  private overReleasedUnits = 0;
  private readonly observers: RateObservers;
  private readonly name: string | undefined;

  /** @internal Use {@link slidingWindow}. */
  constructor(options: SlidingWindowOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw invalid(`slidingWindow expects options, got ${describe(options)}`, {});
    }
    checkCommonOptions(options);
    assertAmount(options.limit, 'limit');
    this.capacity = options.limit;
    this.windowMs = positiveInteger(options.windowMs, 'windowMs');
    this.clock = clockOption(options.clock);
    this.observers = new RateObservers(guardObserver(options.observer));
    this.name = options.name;
  }

  /**
   * Add a listener for this window's events, beside the `observer` option: `reserve` and
   * `deny` for every grant asked for (count or permit), `release` when units are taken out of
   * the window again (`refunded` is 0 for a permit whose grant had already slid out),
   * `commit` for a permit kept (with `used` and what a partial commit `refunded`), and
   * `over-release` when the count API is asked to release more than it holds in the window.
   * Grants sliding out of the window report nothing: that is continuous, not an epoch, and
   * happens between operations. Nobody listening costs one field check per operation.
   *
   * @param listener - called with every {@link BudgetEvent} after the state change.
   * @returns a function that removes the listener (calling it twice is harmless).
   * @throws BudgetError `INVALID_ARGUMENT` when `listener` is not a function.
   *
   * @example
   * ```ts
   * import { slidingWindow } from '@budgetry/core';
   *
   * const rpm = slidingWindow({ limit: 1, windowMs: 60_000, name: 'rpm' });
   * const stop = rpm.subscribe((event) => console.log(event.type));
   * rpm.tryReserveSync(1); // "reserve"
   * rpm.tryReserveSync(1); // "deny"
   * stop();
   * ```
   */
  subscribe(listener: BudgetObserver): () => void {
    return this.observers.add(listener);
  }

  /** Units that can be granted right now. */
  available(): number {
    this.prune(this.now());
    return this.capacity - this.used;
  }

  /**
   * Grant `cost` units if the last `windowMs` milliseconds leave room.
   *
   * @param cost - a non-negative safe integer.
   * @returns `true` when granted.
   */
  tryReserveSync(cost: number): boolean {
    const seq = this.grant(cost);
    if (seq < 0) return false;
    this.counted[seq - this.base]! += cost;
    if (this.observers.fn !== undefined) this.report('reserve', cost);
    return true;
  }

  /**
   * Take back units granted with the count API that are still in the window (the work did
   * not happen), newest first. Units beyond that are ignored and counted in
   * `overReleased()`: a grant that slid out has already given its units back.
   *
   * @param cost - a non-negative safe integer.
   */
  releaseSync(cost: number): void {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    this.prune(this.now());
    let left = cost;
    // Only count-API units are taken back here, never a permit's: each permit gives back
    // its own, so no entry can go negative.
    for (let i = this.costs.length - 1; i >= this.head && left > 0; i--) {
      const take = Math.min(left, this.counted[i]!);
      this.counted[i]! -= take;
      this.costs[i]! -= take;
      this.used -= take;
      left -= take;
    }
    this.overReleasedUnits = Math.min(this.overReleasedUnits + left, Number.MAX_SAFE_INTEGER);
    const observer = this.observers.fn;
    if (observer !== undefined) {
      const accepted = cost - left;
      reportSettle(observer, this.name, cost, cost, true, accepted, this.capacity - this.used);
      if (left > 0) reportExcess(observer, this.name, cost, accepted);
    }
  }

  /** Units the count API was asked to release beyond what it holds in the window (ignored). */
  overReleased(): number {
    return this.overReleasedUnits;
  }

  /**
   * Grant `cost` units as a permit: `release()` takes them out of the window (if still in
   * it), `commit()` leaves them to slide out.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or `null` when the window is full.
   */
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    const seq = this.grant(cost);
    if (seq < 0) return null;
    if (this.observers.fn !== undefined) this.report('reserve', cost);
    return new RatePermit(
      { settlePermit: (c, back, release) => this.settleEntry(seq, c, back, release) },
      cost,
    );
  }

  /**
   * How long until `cost` units fit, as older grants slide out of the window.
   *
   * @param cost - the units wanted.
   * @returns milliseconds, or `undefined` when `cost` exceeds the limit.
   */
  retryAfterMs(cost: number): number | undefined {
    assertAmount(cost, 'cost');
    if (cost > this.capacity) return undefined;
    const now = this.now();
    this.prune(now);
    let used = this.used;
    if (used + cost <= this.capacity) return 0;
    for (let i = this.head; i < this.times.length; i++) {
      used -= this.costs[i]!;
      if (used + cost <= this.capacity) return this.times[i]! + this.windowMs - now;
    }
    return 0;
  }

  /** Returns the entry's sequence number, or -1 when denied. */
  private grant(cost: number): number {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    const now = this.now();
    this.prune(now);
    if (this.used + cost > this.capacity) {
      if (this.observers.fn !== undefined) this.report('deny', cost);
      return -1;
    }
    this.used += cost;
    const last = this.times.length - 1;
    if (last >= this.head && this.times[last]! >= now) {
      this.costs[last]! += cost;
      return this.base + last;
    }
    this.times.push(now);
    this.costs.push(cost);
    this.counted.push(0);
    return this.base + this.times.length - 1;
  }

  private report(type: 'reserve' | 'deny', cost: number): void {
    this.observers.fn!({ type, budget: this.name, cost, available: this.capacity - this.used });
  }

  /** Settles a permit of entry `seq`: `back` of its `cost` units leave the window. */
  private settleEntry(seq: number, cost: number, back: number, release: boolean): void {
    this.prune(this.now());
    const i = seq - this.base;
    // An entry that slid out of the window already gave its units back.
    const live = i >= this.head;
    if (live) {
      this.costs[i]! -= back;
      this.used -= back;
    }
    const observer = this.observers.fn;
    if (observer === undefined) return;
    const available = this.capacity - this.used;
    reportSettle(observer, this.name, cost, back, release, live ? back : 0, available);
  }

  /**
   * The clock's time, or the last finite time it gave when it gives something else: a grant
   * stamped `NaN` would never slide out of the window.
   */
  private now(): number {
    const t = this.clock.now();
    if (Number.isFinite(t)) this.lastNow = t;
    return this.lastNow;
  }

  private prune(now: number): void {
    const cutoff = now - this.windowMs;
    let h = this.head;
    while (h < this.times.length && this.times[h]! <= cutoff) {
      this.used -= this.costs[h]!;
      h++;
    }
    if (h === this.head) return;
    this.head = h;
    // Compact once the dead prefix dominates, keeping pushes amortized O(1).
    if (h > 64 && h * 2 > this.times.length) {
      this.times = this.times.slice(h);
      this.costs = this.costs.slice(h);
      this.counted = this.counted.slice(h);
      this.base += h;
      this.head = 0;
    }
  }
}

/**
 * At most `limit` units in any window of `windowMs` milliseconds, exactly: requests per
 * minute without the double burst a fixed window allows at its edge (a full window just
 * before the boundary and another just after). A permit released takes its units out of the
 * window again; a denial knows when the oldest grants slide out.
 *
 * When to use: a provider or contract states "N per minute" and must never see more within
 * any minute. Use {@link tokenBucket} for a smooth rate with a burst allowance, and
 * compose's `lazyRefill` when a calendar-aligned fixed window is what is wanted.
 *
 * @param options - `limit`, `windowMs`, `clock`, and `name` and `observer` for its events
 * (see {@link SlidingWindow.subscribe}).
 * @returns the window, a synchronous guard.
 * @throws BudgetError `INVALID_ARGUMENT` for a zero or negative window, `INVALID_AMOUNT` for a
 * bad limit.
 *
 * @example
 * ```ts
 * import { slidingWindow } from '@budgetry/core';
 *
 * const rpm = slidingWindow({ limit: 60, windowMs: 60_000 });
 * if (rpm.tryReserveSync(1)) {
 *   // send the request
 * }
 * ```
 */
export function slidingWindow(options: SlidingWindowOptions): SlidingWindow {
  return new SlidingWindow(options);
}
