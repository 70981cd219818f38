import { debtAfter } from '../budgets/debt.js';
import { guardObserver, ObserverList } from '../budgets/observer-list.js';
import { checkTimes } from '../budgets/options.js';
import { SyncTokenBudgetBase } from '../budgets/sync-twins.js';
import { BudgetError } from '../spec/budget-error.js';
import { type SchedulableCapabilities, schedulableCapabilities } from '../spec/capabilities.js';
import type { BudgetObserver } from '../spec/events.js';
import type { RefillPolicy } from '../spec/refill-policy.js';
import { unwatchHandle } from './dropped-handles.js';
import { catchUpDue, refillNow, refillScheduled } from './due-refill.js';
import {
  H_CLOSED,
  HF_DONE,
  HF_DUE,
  L_GEN,
  LOCK_CONTENDED,
  S_AVAIL,
  S_CAPACITY,
  S_CONSUMED,
  S_COUNT,
  S_EPOCH,
  S_FORGIVEN,
  S_HELD,
  S_LEAKS,
  S_MAX_DEBT,
  S_OVER_RELEASED,
  S_UNCLAIMED,
  W_LOCK,
  W_REFILLS,
} from './layout.js';
import { closedError } from './memory.js';
import type { SharedRegion } from './region.js';
import { BEAT_EVERY } from './shared-guard-core.js';
import { type ExitingThread, SharedLeases } from './shared-leases.js';
import { readTokenSnapshot, type SharedTokenBudgetSnapshot } from './shared-token-options.js';

const RESET_CAPABILITIES = schedulableCapabilities('reset', false);
const CARRY_CAPABILITIES = schedulableCapabilities('carry', false);

/** @internal What a token budget handle is given besides its region. */
export interface HandleSettings {
  readonly observer?: BudgetObserver | undefined;
  readonly leakBackstop?: boolean | undefined;
}

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * @internal One thread's handle on a shared token budget, without the calls that change the
 * budget (those are {@link SharedTokenBudget}'s, each one critical section that reads and
 * computes first and ends in one tail of stores with no calls, so a worker terminated while it
 * holds the lock has written all of its update or none of it; see `RegionMemory.slowLock`):
 * the fields every call reads, the lock, the reads, observers, closing and lease housekeeping.
 */
export abstract class SharedTokenHandle extends SyncTokenBudgetBase {
  /** Total capacity, fixed at construction. */
  readonly capacity: number;
  /** What `refill()` does with armed reservations. */
  readonly refillPolicy: RefillPolicy;
  /** Largest debt carried before overage is written off (`Infinity` when unlimited). */
  readonly maxDebt: number;
  protected readonly region: SharedRegion;
  protected readonly i32: Int32Array;
  protected readonly f64: Float64Array;
  protected readonly laneF: number;
  protected readonly genIndex: number;
  /**
   * The lane generation this handle owns. It never changes for a handle (a handle claims one
   * lane, once), so every reservation this handle issued remembers it through its owner: when
   * it no longer matches the lane's, the lane was given back, the reservation's estimate with it.
   */
  protected readonly gen: number;
  protected readonly owner: number;
  protected readonly carry: boolean;
  protected readonly backstop: boolean;
  protected readonly name: string | undefined;
  protected observer: BudgetObserver | undefined;
  /** Calls left before this handle beats from its own calls (see `SharedGuardCore`). */
  protected callsToBeat = BEAT_EVERY;
  private readonly creator: boolean;
  private readonly leases: SharedLeases;
  private closed = false;
  private observerList: ObserverList | undefined;

  /** Synchronous, pool count release, its refill policy, schedulable; reservations are not permits. */
  get capabilities(): SchedulableCapabilities {
    return this.carry ? CARRY_CAPABILITIES : RESET_CAPABILITIES;
  }

  /** Claims a lane of `region` for this handle. */
  constructor(region: SharedRegion, settings: HandleSettings, creator: boolean) {
    super();
    this.creator = creator;
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
    this.maxDebt = this.f64[S_MAX_DEBT]!;
    this.name = region.name;
    this.backstop = settings.leakBackstop ?? true;
    this.observer = guardObserver(settings.observer);
    this.leases = new SharedLeases(region);
  }

  /**
   * Add a listener for the events of calls made through this handle (other threads' calls
   * are seen by their own handles' observers).
   *
   * @param listener - called with every event after the state change.
   * @returns a function that removes the listener.
   */
  subscribe(listener: BudgetObserver): () => void {
    this.observerList ??= new ObserverList(this.observer, (observer) => {
      this.observer = observer;
    });
    return this.observerList.add(listener);
  }

  /**
   * Be told when units may have come free through any handle of this budget, in any thread: a
   * release, a commit or usage record that returns units, a refill, holds reclaimed from a handle that expired
   * or whose thread exited, or the budget closing. What `subscribe` cannot give: it hears only
   * this handle's own calls. Waiting lines listen here (compose's `waiting()` does). The
   * listener is called later, in this thread, and may find that nothing fits yet (another
   * thread was first); try again then. Nothing polls: this thread sleeps on a word of the
   * shared memory with `Atomics.waitAsync`, and while it listens it keeps the event loop open.
   * Closing this handle tells the listeners once more and removes them.
   *
   * @param listener - called with no argument.
   * @returns a function that removes the listener.
   * @throws BudgetError `INVALID_ARGUMENT` when `listener` is not a function.
   *
   * @example
   * ```ts
   * import { SharedTokenBudget } from '@budgetry/core';
   *
   * const budget = new SharedTokenBudget(10);
   * const stop = budget.watchFreed(() => console.log('units may be free:', budget.available()));
   * stop();
   * budget.close();
   * ```
   */
  watchFreed(listener: () => void): () => void {
    return this.region.watchFreed(listener);
  }

  /**
   * Begin a new epoch (see `AtomicTokenBudget.refill`): debt is paid first; with `reset` older
   * reservations are fenced off in every thread; with `carry` the armed estimates move into the
   * new epoch, charged once, to it.
   *
   * @param times - refills to apply at once (default 1); a positive safe integer.
   * @throws BudgetError `INVALID_ARGUMENT` when `times` is not a positive safe integer, or
   * would take the epoch past 2^53 − 1 (nothing changes).
   * @throws BudgetError `CLOSED` or `LEASE_EXPIRED` when this handle can no longer be used.
   */
  refill(times = 1): void {
    if (times !== 1) checkTimes(times);
    refillNow(this, this.f64, times);
  }

  /** @internal Takes the lock, or throws why this handle cannot be used. */
  lockForRefill(): void {
    this.lock();
    if (this.i32[this.genIndex] !== this.gen || this.i32[H_CLOSED] !== 0) this.refuse();
  }

  /** @internal With the lock held: `times` refills in one tail of stores (see `RefillSite`). */
  refillLocked(times: number, due: number, done: number): void {
    const f = this.f64;
    const epoch = Math.min(f[S_EPOCH]! + times, MAX);
    const net = f[S_AVAIL]!;
    // Reset: holds of older epochs are fenced off. Carry: armed estimates stay reserved.
    const count = this.carry ? f[S_COUNT]! : 0;
    const unclaimed = this.carry ? f[S_UNCLAIMED]! : 0;
    const held = this.carry ? f[S_HELD]! : 0;
    // What the old epoch owes once the carried reservations leave it.
    const closing = net + held;
    const debt = closing < 0 ? -closing : 0;
    const capacity = f[S_CAPACITY]!;
    // Each refill after the first pays up to another capacity of what is still owed.
    const after = capacity - held - debtAfter(debt, capacity, times - 1);
    this.refilledEpoch = epoch;
    this.refilledTo = after;
    // Counted for striped handles, which read it without the lock; stored in the tail, since an
    // Atomics call there is a point a terminated thread can stop at, halfway through the tail.
    const refills = (this.i32[W_REFILLS]! + 1) | 0;
    // The tail: stores only, which a terminated thread finishes or never starts.
    f[S_EPOCH] = epoch;
    f[S_COUNT] = count;
    f[S_UNCLAIMED] = unclaimed;
    f[S_HELD] = held;
    f[S_AVAIL] = after;
    f[HF_DUE] = due;
    f[HF_DONE] = done;
    this.i32[W_REFILLS] = refills;
  }

  /** The epoch and the net available the last refill through this handle left. */
  private refilledEpoch = 0;
  private refilledTo = 0;

  /** @internal After a refill, the lock released: wakes waiters, tells the observer. */
  afterRefill(): void {
    this.region.wake();
    const { name: budget, refillPolicy: policy } = this;
    const available = Math.max(this.refilledTo, 0);
    this.observer?.({ type: 'refill', budget, epoch: this.refilledEpoch, policy, available });
  }

  /** @internal Applies the schedule's boundary when the clock has passed it (`catchUpDue`). */
  catchUpDue(): void {
    if (this.f64[HF_DUE] !== Number.POSITIVE_INFINITY) catchUpDue(this, this.region);
  }

  /** @internal The schedule's catch-up (see `refillScheduled`). */
  refillScheduled(times: number, first: number, next: number, now: number, period: number): void {
    refillScheduled(this, this.region, times, first, next, now, period);
  }

  /** Tokens that can be reserved right now, across all threads: 0 while in debt. */
  available(): number {
    this.catchUpDue();
    return Math.max(this.region.read(S_AVAIL), 0);
  }

  /** Tokens owed: recorded overage not yet paid by refunds or refills. */
  debt(): number {
    this.catchUpDue();
    const net = this.region.read(S_AVAIL);
    return net < 0 ? -net : 0;
  }

  /** Sum of the estimates of armed reservations and count reservations in live epochs. */
  reserved(): number {
    this.catchUpDue();
    return this.region.read(S_HELD);
  }

  /** Debt written off because it exceeded `maxDebt`. */
  forgivenDebt(): number {
    return this.region.read(S_FORGIVEN);
  }

  /** Reservations garbage-collected while armed, refunded by the backstop, in any thread. */
  leaks(): number {
    return this.region.read(S_LEAKS);
  }

  /** Tokens the count API was asked to release beyond what it held (and ignored). */
  overReleased(): number {
    return this.region.read(S_OVER_RELEASED);
  }

  /** Utilization in `[0, 1]`; 0 for a zero-capacity budget. */
  utilization(): number {
    return this.capacity === 0 ? 0 : (this.capacity - this.available()) / this.capacity;
  }

  /** All counters at once, read in one step. */
  snapshot(): SharedTokenBudgetSnapshot {
    this.catchUpDue();
    return readTokenSnapshot(this.region);
  }

  /** Total tokens recorded since construction, in every thread (saturates at 2^53 − 1). */
  tokensConsumedSync(): number {
    return this.region.read(S_CONSUMED);
  }

  /** Promise twin of `tryReserveSync`. */
  async tryReserve(cost: number): Promise<boolean> {
    return this.tryReserveSync(cost);
  }

  /** Promise twin of `releaseSync`. */
  async release(cost: number): Promise<void> {
    this.releaseSync(cost);
  }

  abstract tryReserveSync(cost: number): boolean;
  abstract releaseSync(cost: number): void;

  /**
   * Give back this handle's holds (armed estimates, count-API reservations) and its lane. The
   * creator's `close()` also closes the budget for every thread: later calls on any handle
   * fail with `CLOSED`, and so does `open`. Calling it twice is harmless.
   */
  close(): void {
    this.closed = true;
    unwatchHandle(this.region);
    if (this.creator) this.region.markClosed();
    this.region.closeLane();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Give back the holds of every handle opened in `worker`'s thread as soon as it exits.
   *
   * @param worker - a `node:worker_threads` Worker (anything with `threadId` and `once('exit')`).
   */
  releaseOnExit(worker: ExitingThread): void {
    this.leases.releaseOnExit(worker);
  }

  /**
   * Give back the holds of handles whose heartbeat is older than `leaseMs`, exactly once.
   *
   * @returns how many handles were reclaimed and the tokens they gave back.
   */
  reclaimExpired(): { handles: number; units: number } {
    return this.leases.reclaimExpired();
  }

  /** With the lock held: whether a reservation of `epoch` still holds its estimate here. */
  protected holds(epoch: number): boolean {
    return (
      this.i32[this.genIndex] === this.gen &&
      (this.carry || epoch === this.f64[S_EPOCH]) &&
      this.i32[H_CLOSED] === 0
    );
  }

  /** @internal */
  lock(): void {
    if (Atomics.compareExchange(this.i32, W_LOCK, 0, this.owner) !== 0) this.region.slowLock();
  }

  /** @internal */
  unlock(): void {
    const i32 = this.i32;
    if ((Atomics.exchange(i32, W_LOCK, 0) & LOCK_CONTENDED) !== 0) Atomics.notify(i32, W_LOCK, 1);
    if (--this.callsToBeat === 0) this.beatNow();
  }

  /** Beats now and restarts the count (see `callsToBeat`). */
  protected beatNow(): void {
    this.callsToBeat = BEAT_EVERY;
    this.region.beat();
  }

  /** With the lock held: releases it and throws why this handle cannot be used. */
  protected refuse(): never {
    const refused = this.region.refusal();
    this.unlock();
    // The region keeps the lane index of a handle closed by its own close(), which would read
    // as an expired lease: such a handle says CLOSED.
    if (this.closed && refused?.code !== 'CLOSED') {
      throw new BudgetError({
        code: 'CLOSED',
        message: 'this handle of the shared token budget is closed',
        details: { budget: this.name },
      });
    }
    throw refused ?? closedError(this.name);
  }

  protected report(type: 'reserve' | 'deny', cost: number, available: number): void {
    this.observer!({ type, budget: this.name, cost, available });
  }
}
