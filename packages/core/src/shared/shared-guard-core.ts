import { unwatchLeak, watchLeak } from '../budgets/backstop.js';
import { reportCountRelease } from '../budgets/count-release.js';
import { guardObserver } from '../budgets/observer-list.js';
import { checkTimes } from '../budgets/options.js';
import { checkUsed, WatchedPermit } from '../budgets/sync-permit-base.js';
import { SyncGuardBase } from '../budgets/sync-twins.js';
import { assertAmount } from '../spec/amount.js';
import { BudgetError } from '../spec/budget-error.js';
import type { SyncBudgetPermit } from '../spec/budget-guard.js';
import type { BudgetObserver } from '../spec/events.js';
import type { RefillPolicy } from '../spec/refill-policy.js';
import { watchHandle } from './dropped-handles.js';
import { catchUpDue, refillNow, refillScheduled } from './due-refill.js';
import { fastRelease, fastReserve } from './fast-count.js';
import {
  H_CLOSED,
  HF_DONE,
  HF_DUE,
  L_COUNT,
  L_EPOCH,
  L_GEN,
  L_HELD,
  L_SLICE,
  LOCK_CONTENDED,
  S_AVAIL,
  S_CAPACITY,
  S_COUNT,
  S_EPOCH,
  S_HELD,
  S_LEAKS,
  S_SLICED,
  S_UNCLAIMED,
  W_LOCK,
  W_REFILLS,
} from './layout.js';
import { releaseCountLocked } from './locked-count-release.js';
import type { SharedRegion } from './region.js';
import type { SharedOpenOptions } from './shared-options.js';
import { HELD, type PermitSettler, RELEASED, SharedPermit } from './shared-permit.js';

const MAX = Number.MAX_SAFE_INTEGER;
/** A handle also beats every this many calls (see `callsToBeat`). */
export const BEAT_EVERY = 4_096;

/**
 * @internal The state transitions of a {@link SharedBudget}: the count API, permits and
 * refills over the shared memory, each one critical section. Every section reads and computes
 * first and ends in one tail of stores with no calls, so a worker terminated while it holds
 * the lock has written all of its update or none of it (see `RegionMemory.slowLock`).
 */
export abstract class SharedGuardCore extends SyncGuardBase implements PermitSettler {
  /** Total capacity, fixed at construction. */
  readonly capacity: number;
  /** What `refill` does with held reservations. */
  readonly refillPolicy: RefillPolicy;
  protected readonly region: SharedRegion;
  protected readonly i32: Int32Array;
  protected readonly f64: Float64Array;
  protected readonly laneF: number;
  protected readonly genIndex: number;
  protected readonly gen: number;
  protected readonly owner: number;
  protected readonly carry: boolean;
  protected readonly backstop: boolean;
  protected readonly name: string | undefined;
  protected observer: BudgetObserver | undefined;
  /**
   * Calls left before this handle beats from its own calls: a worker that keeps the budget
   * busy in a long synchronous loop never runs its heartbeat timer, yet must not look dead.
   */
  protected callsToBeat = BEAT_EVERY;

  /** Takes a lane in `region` for this handle. */
  constructor(region: SharedRegion, options: SharedOpenOptions) {
    super();
    region.claimLane();
    this.region = region;
    this.i32 = region.i32;
    this.f64 = region.f64;
    this.laneF = region.laneF;
    this.genIndex = region.laneI + L_GEN;
    this.gen = region.gen;
    this.owner = region.owner;
    this.carry = region.carry;
    this.refillPolicy = region.carry ? 'carry' : 'reset';
    this.capacity = this.f64[S_CAPACITY]!;
    this.name = region.name;
    this.backstop = options.leakBackstop ?? true;
    this.observer = guardObserver(options.observer);
    watchHandle(this, region);
  }

  /**
   * Begin a new epoch (see `AtomicBudget.refill`): with `reset` the budget becomes full and
   * holds of older epochs are fenced off in every thread; with `carry` it becomes capacity
   * minus what is still held.
   *
   * @param times - refills to apply at once (default 1); a positive safe integer.
   * @throws BudgetError `INVALID_ARGUMENT` when `times` is not a positive safe integer, or
   * would take the epoch past 2^53 − 1 (nothing changes).
   */
  refill(times = 1): void {
    if (times !== 1) checkTimes(times);
    refillNow(this, this.f64, times);
  }

  /** @internal Takes the lock, or throws why this handle cannot be used. */
  lockForRefill(): void {
    this.lock();
    const refused = this.region.refusal();
    if (refused !== undefined) this.fail(refused);
  }

  /** @internal With the lock held: `times` refills in one tail of stores (see `RefillSite`). */
  refillLocked(times: number, due: number, done: number): void {
    const f = this.f64;
    const epoch = Math.min(f[S_EPOCH]! + times, MAX);
    const capacity = f[S_CAPACITY]!;
    // Reset: the new epoch starts full, and holds and slices of older ones are fenced off.
    // Carry: what is held, in permits, the count API or slices, stays held.
    const count = this.carry ? f[S_COUNT]! : 0;
    const unclaimed = this.carry ? f[S_UNCLAIMED]! : 0;
    const held = this.carry ? f[S_HELD]! : 0;
    const sliced = this.carry ? f[S_SLICED]! : 0;
    const available = capacity - held - sliced;
    this.refilledTo = available;
    this.refilledEpoch = epoch;
    // Counted for striped handles, which read it without the lock; stored in the tail, since an
    // Atomics call there is a point a terminated thread can stop at, halfway through the tail.
    const refills = (this.i32[W_REFILLS]! + 1) | 0;
    // The tail: stores only.
    f[S_EPOCH] = epoch;
    f[S_COUNT] = count;
    f[S_UNCLAIMED] = unclaimed;
    f[S_HELD] = held;
    f[S_SLICED] = sliced;
    f[S_AVAIL] = available;
    f[HF_DUE] = due;
    f[HF_DONE] = done;
    this.i32[W_REFILLS] = refills;
  }

  /** The epoch and the units available the last refill through this handle left. */
  private refilledEpoch = 0;
  private refilledTo = 0;

  /** @internal After a refill, the lock released: wakes waiters, tells the observer. */
  afterRefill(): void {
    this.region.wake();
    this.observer?.({
      type: 'refill',
      budget: this.name,
      epoch: this.refilledEpoch,
      policy: this.refillPolicy,
      available: this.refilledTo,
    });
  }

  /** @internal Applies the schedule's boundary when the clock has passed it (`catchUpDue`). */
  catchUpDue(): void {
    if (this.f64[HF_DUE] !== Number.POSITIVE_INFINITY) catchUpDue(this, this.region);
  }

  /** @internal The schedule's catch-up (see `refillScheduled`). */
  refillScheduled(times: number, first: number, next: number, now: number, period: number): void {
    refillScheduled(this, this.region, times, first, next, now, period);
  }

  /**
   * Reserve `cost` units, synchronously. On a handle with no observer a grant does not take
   * the lock: one compare-and-exchange on the budget's fast word, which every lock holder
   * folds first (a denial takes the lock, so it is always decided on exact words).
   *
   * @param cost - a non-negative safe integer; 0 is always granted, more than capacity never.
   * @returns `true` when reserved, `false` on soft denial (nothing changed).
   * @throws BudgetError `CLOSED` or `LEASE_EXPIRED` when this handle can no longer be used.
   */
  tryReserveSync(cost: number): boolean {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    if (this.observer === undefined && fastReserve(this.region, cost)) {
      if (--this.callsToBeat === 0) this.beatNow();
      return true;
    }
    const f = this.f64;
    if (f[HF_DUE] !== Number.POSITIVE_INFINITY) catchUpDue(this, this.region);
    const i32 = this.i32;
    this.region.lock();
    if (i32[this.genIndex] !== this.gen || i32[H_CLOSED] !== 0) this.refuse();
    const available = f[S_AVAIL]!;
    if (cost > available) {
      this.unlock();
      if (this.observer !== undefined) this.report('deny', cost, available);
      return false;
    }
    const lf = this.laneF;
    const epoch = f[S_EPOCH]!;
    // Holds of an epoch a reset fenced off no longer count for this lane.
    const fresh = !this.carry && f[lf + L_EPOCH] !== epoch;
    const laneCount = (fresh ? 0 : f[lf + L_COUNT]!) + cost;
    const laneHeld = fresh ? 0 : f[lf + L_HELD]!;
    const laneSlice = fresh ? 0 : f[lf + L_SLICE]!;
    const count = f[S_COUNT]! + cost;
    const held = f[S_HELD]! + cost;
    // The tail: stores only, which a terminated thread finishes or never starts (see slowLock).
    f[S_AVAIL] = available - cost;
    f[S_COUNT] = count;
    f[S_HELD] = held;
    f[lf + L_EPOCH] = epoch;
    f[lf + L_COUNT] = laneCount;
    f[lf + L_HELD] = laneHeld;
    f[lf + L_SLICE] = laneSlice;
    if ((Atomics.exchange(i32, W_LOCK, 0) & LOCK_CONTENDED) !== 0) Atomics.notify(i32, W_LOCK, 1);
    if (--this.callsToBeat === 0) this.beatNow();
    if (this.observer !== undefined) this.report('reserve', cost, available - cost);
    return true;
  }

  /**
   * Return `cost` units reserved with {@link SharedBudget.tryReserveSync} in any thread (the
   * count API is one pool). Units beyond what the pool holds in the current epoch are ignored
   * and counted as over-released (or, with `strict`, the call throws `OVER_RELEASE`). Like
   * {@link SharedBudget.tryReserveSync}, a release of units this handle reserved does not take
   * the lock on a handle with no observer.
   *
   * @param cost - a non-negative safe integer.
   */
  releaseSync(cost: number): void {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    if (this.observer === undefined && fastRelease(this.region, cost)) {
      if (--this.callsToBeat === 0) this.beatNow();
      return;
    }
    if (this.f64[HF_DUE] !== Number.POSITIVE_INFINITY) catchUpDue(this, this.region);
    const f = this.f64;
    const i32 = this.i32;
    this.region.lock();
    if (i32[this.genIndex] !== this.gen || i32[H_CLOSED] !== 0) this.refuse();
    const accepted = releaseCountLocked(this.region, cost);
    const available = f[S_AVAIL]!;
    if ((Atomics.exchange(i32, W_LOCK, 0) & LOCK_CONTENDED) !== 0) Atomics.notify(i32, W_LOCK, 1);
    if (--this.callsToBeat === 0) this.beatNow();
    if (accepted > 0) this.region.freed();
    if (this.observer !== undefined) {
      reportCountRelease(this.observer, this.name, cost, accepted, available);
    }
  }

  /**
   * Reserve `cost` units as a permit, synchronously. The permit settles in this thread;
   * its units are held in the shared memory until then.
   *
   * @param cost - a non-negative safe integer.
   * @returns a held permit, or `null` on soft denial.
   */
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    const f = this.f64;
    if (f[HF_DUE] !== Number.POSITIVE_INFINITY) catchUpDue(this, this.region);
    this.lock();
    if (this.i32[this.genIndex] !== this.gen || this.i32[H_CLOSED] !== 0) this.refuse();
    const available = f[S_AVAIL]!;
    if (cost > available) {
      this.unlock();
      if (this.observer !== undefined) this.report('deny', cost, available);
      return null;
    }
    const epoch = this.take(cost);
    this.unlock();
    const handle = this.issue(cost, epoch);
    if (this.observer !== undefined) this.report('reserve', cost, available - cost);
    return handle;
  }

  /**
   * With the lock held: takes `cost` permit units; returns the epoch they belong to. It
   * writes in one tail of stores (see `slowLock`).
   */
  protected take(cost: number): number {
    const f = this.f64;
    const lf = this.laneF;
    const epoch = f[S_EPOCH]!;
    const fresh = !this.carry && f[lf + L_EPOCH] !== epoch;
    const laneCount = fresh ? 0 : f[lf + L_COUNT]!;
    const laneHeld = (fresh ? 0 : f[lf + L_HELD]!) + cost;
    // A striped handle's slice of a fenced-off epoch is gone with it.
    const laneSlice = fresh ? 0 : f[lf + L_SLICE]!;
    const available = f[S_AVAIL]! - cost;
    const held = f[S_HELD]! + cost;
    f[S_AVAIL] = available;
    f[S_HELD] = held;
    f[lf + L_EPOCH] = epoch;
    f[lf + L_COUNT] = laneCount;
    f[lf + L_HELD] = laneHeld;
    f[lf + L_SLICE] = laneSlice;
    return epoch;
  }

  /** The handle for `cost` units taken in `epoch`, watched by the backstop if enabled. */
  protected issue(cost: number, epoch: number): SyncBudgetPermit {
    const permit = new SharedPermit(this, cost, epoch, this.gen);
    if (!this.backstop) return permit;
    const handle = new WatchedPermit(permit);
    watchLeak(handle, permit);
    return handle;
  }

  /**
   * @internal Settles a permit once; returns whether this call settled it. A permit of a
   * lane that was reclaimed (its thread was taken for dead) refunds nothing: its units
   * already came back.
   */
  settlePermit(cell: SharedPermit, to: number, leaked: boolean, used?: number): boolean {
    const spent = used === undefined ? cell.cost : checkUsed(used, cell.cost);
    if (cell.status !== HELD) return false;
    cell.status = to;
    unwatchLeak(cell);
    const f = this.f64;
    const back = to === RELEASED ? cell.cost : cell.cost - spent;
    let refunded = 0;
    this.lock();
    const live =
      this.i32[this.genIndex] === cell.gen &&
      (this.carry || cell.epoch === f[S_EPOCH]) &&
      this.i32[H_CLOSED] === 0;
    const lf = this.laneF;
    const held = live ? f[S_HELD]! - cell.cost : f[S_HELD]!;
    const laneHeld = live ? f[lf + L_HELD]! - cell.cost : f[lf + L_HELD]!;
    const available = live ? f[S_AVAIL]! + back : f[S_AVAIL]!;
    const leaks = leaked ? f[S_LEAKS]! + 1 : f[S_LEAKS]!;
    if (live) refunded = back;
    // The tail: stores only.
    f[S_HELD] = held;
    f[lf + L_HELD] = laneHeld;
    f[S_AVAIL] = available;
    f[S_LEAKS] = leaks;
    this.unlock();
    if (refunded > 0) this.region.freed();
    const observer = this.observer;
    if (observer !== undefined) {
      if (to === RELEASED) {
        observer({ type: 'release', budget: this.name, cost: cell.cost, refunded, available });
      } else {
        observer({ type: 'commit', budget: this.name, cost: cell.cost, used: spent, refunded });
      }
      if (leaked) observer({ type: 'leak', budget: this.name, amount: cell.cost, refunded });
    }
    return true;
  }

  /** Beats now and restarts the count (see `callsToBeat`). */
  protected beatNow(): void {
    this.callsToBeat = BEAT_EVERY;
    this.region.beat();
  }

  /** @internal */
  lock(): void {
    this.region.lock();
  }

  /** @internal */
  unlock(): void {
    const i32 = this.i32;
    if ((Atomics.exchange(i32, W_LOCK, 0) & LOCK_CONTENDED) !== 0) Atomics.notify(i32, W_LOCK, 1);
    if (--this.callsToBeat === 0) this.beatNow();
  }

  /** With the lock held: releases it and throws why this handle cannot be used. */
  protected refuse(): never {
    const error = this.region.refusal();
    this.unlock();
    throw error ?? new BudgetError({ code: 'CLOSED', message: 'closed', details: {} });
  }

  private fail(error: BudgetError): never {
    this.unlock();
    throw error;
  }

  /** With the lock held: releases it and throws `OVER_RELEASE`. */
  protected overReleaseError(cost: number, held: number): never {
    this.unlock();
    throw new BudgetError({
      code: 'OVER_RELEASE',
      message: `release(${cost}) exceeds the ${held} units held through tryReserve`,
      details: { budget: this.name, cost, held },
    });
  }

  protected report(type: 'reserve' | 'deny', cost: number, available: number): void {
    this.observer!({ type, budget: this.name, cost, available });
  }
}
