import { type Clock, capabilitiesOf } from '@budgetry/core';
import { invalid } from '../internal/member-list.js';
import {
  type EpochBoundaries,
  type RefillListener,
  type ReportFailure,
  refillFailure,
} from './scheduler-options.js';
import type { Refillable } from './targets.js';

/**
 * @internal A budget in shared memory (core's `SharedBudget`, `SharedTokenBudget`,
 * `SharedHierarchy`): `times` refills for the boundaries from `first` on, minus the one at
 * `first` that other threads applied already, and `next` published as the boundary due, with
 * the period when every period is as long (`NaN` otherwise).
 */
interface SharedTarget {
  refillScheduled(times: number, first: number, next: number, now: number, periodMs: number): void;
}

/** The longest a timer whose refill failed waits before trying again. */
const RETRY_MS = 1_000;

/**
 * @internal The part every scheduler shares: catch up with the clock, timers, listeners.
 *
 * A catch-up is transactional: nothing is recorded before the refill it stands for has
 * happened, so a refill that throws leaves its boundary due, and the next access (or the
 * timer, within a second) applies it; the error goes to the caller of the access, or to the
 * scheduler's `onError` from a timer. A listener's error never stops the other listeners, the
 * schedule or the caller's operation: it goes to `onError` too.
 */
export class RefillEngine {
  /**
   * Boundaries crossed since the scheduler started, counted when a catch-up's first refill
   * (the one that begins the new epoch) has been applied.
   */
  epoch = 0;
  /**
   * The first boundary not applied yet; `Infinity` when the next one lies beyond the
   * safe-integer range of the clock (or the calendar), where nothing can be exact.
   */
  nextAt: number;
  /** What `catchUp` compares the clock with: `nextAt`, or `-Infinity` while refills are owed. */
  private dueAt: number;
  /**
   * Boundaries crossed (after the first of a catch-up) whose refills are still to be applied
   * because one threw. They only pay debt: the epoch itself began with the first refill.
   */
  private owed = 0;
  /** Whether the last refill paid debt, so its epoch began short of a fresh one. */
  private short = false;
  /** Whether the catch-up under way has refilled at all. */
  private refilled = false;
  /** Set during a catch-up, which a refill's own observers may re-enter. */
  private busy = false;
  private cancelTimer: (() => void) | undefined;
  private closed = false;
  /** Copied on write, so a listener that (un)subscribes does not disturb a delivery. */
  private listeners: readonly RefillListener[] = [];

  constructor(
    readonly clock: Clock,
    private readonly boundaries: EpochBoundaries,
    private readonly target: Refillable,
    timer: boolean,
    private readonly report: ReportFailure,
  ) {
    const now = clock.now();
    this.nextAt = this.boundaryAfter(now);
    this.dueAt = this.nextAt;
    this.batch = capabilitiesOf(target).batchRefill === true;
    const shared = (target as unknown as Partial<SharedTarget>).refillScheduled;
    this.shared =
      this.batch && typeof shared === 'function' ? (target as unknown as SharedTarget) : undefined;
    // Every thread's handle of a shared budget learns when the next boundary is due, and the
    // first to find it passed applies it (see `SharedBudget`'s notes on schedules).
    this.shared?.refillScheduled(0, Number.NaN, this.nextAt, now, this.period);
    if (timer) this.arm(false);
  }

  /** Every period's length, when they are equal (published for a shared budget's handles). */
  private get period(): number {
    return this.boundaries.periodMs ?? Number.NaN;
  }

  /** A shared budget: its refills go through `refillScheduled`, which other threads see. */
  private readonly shared: SharedTarget | undefined;

  /** The target declares `refill(times)`: a catch-up is one call, however long the idle. */
  private readonly batch: boolean;

  /** Refill for every boundary the clock has passed since the last look. */
  catchUp(): void {
    const now = this.clock.now();
    if (now < this.dueAt) return;
    this.apply(now);
  }

  /** Milliseconds to the next boundary, or `undefined` when there is none ahead. */
  retryAfterMs(): number | undefined {
    const ms = this.nextAt - this.clock.now();
    return ms === Number.POSITIVE_INFINITY ? undefined : Math.max(0, ms);
  }

  subscribe(listener: RefillListener): () => void {
    if (typeof listener !== 'function') {
      throw invalid(`a refill listener must be a function, got ${typeof listener}`, {});
    }
    this.listeners = [...this.listeners, listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners = this.listeners.filter((_, i) => i !== at);
    };
  }

  close(): void {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private apply(now: number): void {
    // A refill's observers may call back in (a waiting line serving its waiters through this
    // budget): the catch-up under way covers them.
    if (this.busy) return;
    this.busy = true;
    this.refilled = false;
    let failed = false;
    let failure: unknown;
    try {
      if (now >= this.nextAt) {
        // The boundary at nextAt is crossed; count any further ones (for paying large debts).
        const b = this.boundaries;
        const after = b.countAfter?.(this.nextAt, now) ?? b.index(now) - b.index(this.nextAt);
        const crossed = 1 + Math.max(0, after);
        const next = this.boundaryAfter(now);
        const t = this.target;
        if (this.batch) {
          // Every boundary in one call, exactly as one call each: if it throws, nothing is
          // recorded and the boundaries stay due.
          const times = Math.min(crossed + this.owed, Number.MAX_SAFE_INTEGER);
          if (this.shared === undefined) t.refill(times);
          else this.shared.refillScheduled(times, this.nextAt, next, now, this.period);
          this.owed = 0;
        } else {
          const before = crossed > 1 || this.owed > 0 ? debtOf(t) : 0;
          t.refill(); // if it throws, nothing is recorded: the boundary stays due
          this.short = before > 0;
          this.owed = Math.min(this.owed + crossed - 1, Number.MAX_SAFE_INTEGER);
        }
        this.refilled = true;
        this.nextAt = next;
        this.epoch += crossed;
      }
      this.payDebt();
    } catch (error) {
      failed = true;
      failure = error;
    } finally {
      this.dueAt = this.owed > 0 ? Number.NEGATIVE_INFINITY : this.nextAt;
      this.busy = false;
    }
    // Listeners hear of every catch-up that refilled, even one that then failed.
    if (this.refilled) this.tell();
    if (failed) throw refillFailure(failure);
  }

  /**
   * The boundaries crossed after the first one, refilled now as if each had been on time:
   * a refill pays at most one epoch's worth of debt, so `k` boundaries pay
   * `min(debt, k × what one refill pays)`, and one more after the refill that paid the last
   * of it begins a full epoch. Only refills that change something are made (about
   * `debt / capacity` of them, however long the budget was idle); the rest would not: a
   * refill of a budget with no debt whose last refill paid none, or one that pays nothing
   * (units held through every boundary under `carry`, no capacity). A refill that throws
   * stays owed, to be retried.
   */
  private payDebt(): void {
    if (this.owed === 0) return;
    const t = this.target;
    let debt = debtOf(t);
    while (this.owed > 0 && (debt > 0 || this.short)) {
      t.refill();
      this.refilled = true;
      this.owed--;
      this.short = debt > 0;
      const left = debtOf(t);
      if (debt > 0 && left >= debt) break;
      debt = left;
    }
    this.owed = 0;
  }

  private tell(): void {
    const epoch = this.epoch;
    for (const listener of this.listeners) {
      try {
        listener(epoch);
      } catch (error) {
        this.report(error);
      }
    }
  }

  /** The next boundary after `t`, or `Infinity` when it is not an exact clock reading. */
  private boundaryAfter(t: number): number {
    const next = this.boundaries.next(t);
    return next <= Number.MAX_SAFE_INTEGER ? next : Number.POSITIVE_INFINITY; // NaN too
  }

  private arm(retry: boolean): void {
    if (this.closed) return;
    const now = this.clock.now();
    let delay = this.nextAt - now;
    if (retry) {
      // After a failure the boundary may still be due: try again soon, not at once (within
      // a second, or at the following boundary if that comes first).
      let ahead = delay;
      if (ahead <= 0) {
        try {
          ahead = this.boundaryAfter(now) - now;
        } catch {
          ahead = RETRY_MS;
        }
      }
      delay = Math.max(1, Math.min(ahead, RETRY_MS));
    }
    if (delay === Number.POSITIVE_INFINITY) return; // no boundary ahead
    this.cancelTimer = this.clock.setTimer(() => this.tick(), delay);
  }

  /** A timer never throws: the process would end. */
  private tick(): void {
    this.cancelTimer = undefined;
    let failed = false;
    try {
      // A late timer finds the epoch already refilled by an access and does nothing.
      this.catchUp();
    } catch (error) {
      failed = true;
      this.report(error);
    }
    try {
      this.arm(failed);
    } catch (error) {
      this.report(error);
    }
  }
}

const debtOf = (t: Refillable): number => (typeof t.debt === 'function' ? t.debt() : 0);
