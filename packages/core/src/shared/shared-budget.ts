import { ObserverList } from '../budgets/observer-list.js';
import { type ArgCheck, checkSchedule, interpose } from '../budgets/schedule.js';
import { systemClock } from '../budgets/system-clock.js';
import type { SyncBudgetGuard, SyncBudgetPermit } from '../spec/budget-guard.js';
import { type SchedulableCapabilities, schedulableCapabilities } from '../spec/capabilities.js';
import type { BudgetObserver } from '../spec/events.js';
import { checkRefillPolicy } from '../spec/refill-policy.js';
import { unwatchHandle } from './dropped-handles.js';
import { scheduledElsewhere } from './due-refill.js';
import { KIND_GUARD, S_AVAIL, S_EPOCH, S_HELD, S_LEAKS, S_OVER_RELEASED } from './layout.js';
import { assertSharedMemory, type SharedBudgetDescriptor, SharedRegion } from './region.js';
import { SharedGuardCore } from './shared-guard-core.js';
import { type ExitingThread, SharedLeases } from './shared-leases.js';
import {
  checkOpenOptions,
  checkSharedOptions,
  type SharedBudgetOptions,
  type SharedOpenOptions,
} from './shared-options.js';
import type { SharedBudgetSnapshot } from './shared-snapshot.js';
import { type SharedAcquireOptions, waitInLine } from './shared-wait.js';

const RESET_CAPABILITIES = schedulableCapabilities('reset');
const CARRY_CAPABILITIES = schedulableCapabilities('carry');

/** Methods a schedule catches up before (see followSchedule), with how their arguments are checked first. */
const SCHEDULED: readonly (readonly [string | symbol, ArgCheck])[] = [
  ['tryReserveSync', 'amount'],
  ['releaseSync', 'amount'],
  ['tryAcquireSync', 'amount'],
  ['available', 'none'],
  ['held', 'none'],
  ['snapshot', 'none'],
  ['settlePermit', 'used-3'],
];

/**
 * A budget whose units live in a `SharedArrayBuffer`, so worker threads share it exactly: the
 * semantics and declared capabilities of {@link AtomicBudget} (count API with over-release
 * accounting, permits settled once and fenced to their epoch, partial commit, `reset` and
 * `carry` refills, the leak backstop), atomic across threads.
 *
 * Create it once, send {@link SharedBudget.share}'s descriptor to each worker with
 * `postMessage`, and reopen it there with {@link SharedBudget.open}. Every handle owns a lane
 * in the shared memory that records what it holds and beats on a timer; when a thread exits or
 * stops beating for `leaseMs`, another thread gives its holds back exactly once
 * ({@link SharedBudget.releaseOnExit}, {@link SharedBudget.reclaimExpired}).
 *
 * Each call takes a lock word with one compare-and-exchange and releases it with one exchange;
 * the critical section is a handful of loads and stores of 64-bit lanes, with no calls, so
 * capacity, held, debt and epoch always move together and a terminated worker cannot stop
 * inside it.
 *
 * @example
 * ```ts
 * import { Worker } from 'node:worker_threads';
 * import { SharedBudget } from '@budgetry/core';
 *
 * const rows = new SharedBudget(10_000, { name: 'rows' });
 * const worker = new Worker(new URL('./parse-worker.js', import.meta.url), {
 *   workerData: rows.share(),
 * });
 * rows.releaseOnExit(worker);
 * // in parse-worker.js:
 * //   const rows = SharedBudget.open(workerData);
 * //   if (rows.tryReserveSync(500)) { ... rows.releaseSync(500); }
 * ```
 */
export class SharedBudget extends SharedGuardCore implements SyncBudgetGuard {
  private readonly creator: boolean;
  private observerList: ObserverList | undefined;
  private schedule: (() => void) | undefined;
  /** Lease housekeeping: reclaiming expired handles and handles of exited threads. */
  private readonly leases: SharedLeases;

  /** Synchronous, pool count release, partial commit, its refill policy, schedulable. */
  get capabilities(): SchedulableCapabilities {
    return this.carry ? CARRY_CAPABILITIES : RESET_CAPABILITIES;
  }

  /**
   * @param capacity - total units, a non-negative safe integer; the budget starts full.
   * @param options - refill policy, strict over-release, observer, name, leak backstop, and
   * the shared settings: `maxHandles`, `maxWaiters`, `leaseMs`, `clock`.
   * @throws BudgetError `BACKEND` where `SharedArrayBuffer` is unavailable; `INVALID_AMOUNT` or
   * `INVALID_ARGUMENT` for bad settings.
   */
  constructor(capacity: number, options?: SharedBudgetOptions);
  /** @internal Opens a descriptor; use {@link SharedBudget.open}. */
  constructor(capacity: number, options: SharedBudgetOptions, region: SharedRegion);
  constructor(capacity: number, options: SharedBudgetOptions = {}, opened?: SharedRegion) {
    super(opened ?? createRegion(capacity, options), options);
    this.creator = opened === undefined;
    this.leases = new SharedLeases(this.region);
  }

  /**
   * Reopens, in this thread, a budget another thread shared: a new handle on the same units.
   *
   * @param descriptor - what {@link SharedBudget.share} returned, received through `postMessage`.
   * @param options - this handle's observer, leak backstop and clock.
   * @returns a handle with its own lane.
   * @throws BudgetError `INVALID_ARGUMENT` for anything that is not such a descriptor (a copy
   * that lost its `SharedArrayBuffer`, one from another process, another layout version, a
   * token budget's), `CLOSED` when the creator closed the budget, `BACKEND` when every handle
   * is taken.
   */
  static open(descriptor: SharedBudgetDescriptor, options: SharedOpenOptions = {}): SharedBudget {
    assertSharedMemory('SharedBudget.open');
    checkOpenOptions(options);
    const region = SharedRegion.open(descriptor, KIND_GUARD, options.clock ?? systemClock);
    return new SharedBudget(0, options, region);
  }

  /** What to `postMessage` to a worker so it can {@link SharedBudget.open} this budget. */
  share(): SharedBudgetDescriptor {
    return this.region.describe('guard');
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
   * release, a commit that returns units, a refill, holds reclaimed from a handle that expired
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
   * import { SharedBudget } from '@budgetry/core';
   *
   * const budget = new SharedBudget(10);
   * const stop = budget.watchFreed(() => console.log('units may be free:', budget.available()));
   * stop();
   * budget.close();
   * ```
   */
  watchFreed(listener: () => void): () => void {
    return this.region.watchFreed(listener);
  }

  /**
   * Keep this budget's epochs in step with a refill schedule, in one thread (see
   * `AtomicBudget.followSchedule`). compose's schedulers also publish the next boundary in the shared memory
   * (`refillScheduled`): a handle in any thread that finds the clock past it applies that
   * refill before reserving, so no thread reserves in an ended epoch; the scheduling thread
   * applies only the boundaries nobody applied. Every handle's clock must read the same time.
   *
   * @param catchUp - applies the refills the schedule says are due.
   * @returns a function that detaches the schedule.
   */
  followSchedule(catchUp: () => void): () => void {
    checkSchedule(catchUp, this.schedule !== undefined || scheduledElsewhere(this.f64), this.name);
    this.schedule = catchUp;
    const remove = interpose(this, SCHEDULED, ['epoch'], catchUp);
    return () => {
      if (this.schedule !== catchUp) return;
      this.schedule = undefined;
      remove();
    };
  }

  /** Units that can be reserved right now, across all threads. */
  available(): number {
    this.catchUpDue();
    return this.region.read(S_AVAIL);
  }

  /** Units reserved and not yet released or committed in a live epoch, across all threads. */
  held(): number {
    this.catchUpDue();
    return this.region.read(S_HELD);
  }

  /** The current refill epoch. */
  get epoch(): number {
    this.catchUpDue();
    return this.region.read(S_EPOCH);
  }

  /** Units the count API was asked to release beyond what it held (and ignored). */
  overReleased(): number {
    return this.region.read(S_OVER_RELEASED);
  }

  /** Permits garbage-collected while held, refunded by the backstop, in any thread. */
  leaks(): number {
    return this.region.read(S_LEAKS);
  }

  /** Utilization in `[0, 1]`; 0 for a zero-capacity budget. */
  utilization(): number {
    return this.capacity === 0 ? 0 : (this.capacity - this.available()) / this.capacity;
  }

  /** All counters at once, read in one step. */
  snapshot(): SharedBudgetSnapshot {
    this.catchUpDue();
    return this.leases.snapshot();
  }

  /**
   * Wait until `cost` units can be taken as a permit: first come, first served within a
   * priority across every thread, woken by releases and refills in any thread.
   *
   * @param cost - a non-negative safe integer, at most the capacity.
   * @param options - `signal`, `timeoutMs`, `priority` (higher first).
   * @returns the permit.
   * @throws BudgetError `EXCEEDS_CAPACITY` for a cost above capacity, `ABORTED`, `TIMEOUT`,
   * `CLOSED`, or `BACKEND` when every waiter slot is taken.
   */
  acquire(cost: number, options?: SharedAcquireOptions): Promise<SyncBudgetPermit> {
    return waitInLine(this.region, cost, options, {
      capacity: this.capacity,
      take: (c) => this.take(c),
      issue: (c, epoch) => this.issue(c, epoch),
      catchUpDue: () => this.catchUpDue(),
      name: this.name,
    });
  }

  /**
   * Give back this handle's holds and its lane. The creator's `close()` also closes the
   * budget for every thread: later calls on any handle fail with `CLOSED`, and so does
   * `open`. Calling it twice is harmless.
   */
  close(): void {
    unwatchHandle(this.region);
    if (this.creator) this.region.markClosed();
    this.region.closeLane();
  }

  /** Same as {@link SharedBudget.close}. */
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
   * Give back the holds of handles whose heartbeat is older than `leaseMs`.
   *
   * @returns how many handles were reclaimed and the units they gave back.
   */
  reclaimExpired(): { handles: number; units: number } {
    return this.leases.reclaimExpired();
  }
}

/** A new budget's memory, after checking what the constructor was given. */
function createRegion(capacity: number, options: SharedBudgetOptions): SharedRegion {
  assertSharedMemory('SharedBudget');
  const checked = checkSharedOptions(capacity, options);
  const policy = checkRefillPolicy(options.refillPolicy);
  return SharedRegion.create(
    {
      kind: KIND_GUARD,
      capacity,
      carry: policy === 'carry',
      strict: options.strict ?? false,
      lanes: checked.maxHandles,
      waitSlots: checked.maxWaiters,
      leaseMs: checked.leaseMs,
    },
    options.clock ?? systemClock,
    options.name,
  );
}
