import { assertAmount } from '../spec/amount.js';
import type { PermitState, SyncBudgetGuard, SyncBudgetPermit } from '../spec/budget-guard.js';
import { type SchedulableCapabilities, schedulableCapabilities } from '../spec/capabilities.js';
import type { BudgetObserver } from '../spec/events.js';
import { PermitCode, permitStateOf } from '../spec/permit-state.js';
import { checkRefillPolicy, type RefillPolicy } from '../spec/refill-policy.js';
import type { AtomicBudgetOptions, AtomicBudgetSnapshot } from './atomic-options.js';
import { type LeakWatch, unwatchLeak, watchLeak } from './backstop.js';
import { acceptedRelease, type CountCells, OBSERVED, reportCountRelease } from './count-release.js';
import { guardObserver, markObserved, ObserverList } from './observer-list.js';
import { checkCommonOptions, checkTimes, strictOf } from './options.js';
import { type ArgCheck, checkSchedule, interpose } from './schedule.js';
import { checkUsed, SyncBudgetPermitBase, WatchedPermit } from './sync-permit-base.js';
import { SyncGuardBase } from './sync-twins.js';

const { held: HELD, released: RELEASED, committed: COMMITTED } = PermitCode;
const RESET_CAPABILITIES = schedulableCapabilities('reset');
const CARRY_CAPABILITIES = schedulableCapabilities('carry');
/** Module-private key: lets permits settle through their budget without a public method. */
const settle = Symbol('settle');

/** Methods a schedule catches up before (see followSchedule), with how their arguments are checked first. */
const SCHEDULED: readonly (readonly [string | symbol, ArgCheck])[] = [
  ['tryReserveSync', 'amount'],
  ['releaseSync', 'amount'],
  ['tryAcquireSync', 'amount'],
  ['available', 'none'],
  ['held', 'none'],
  ['snapshot', 'none'],
  [settle, 'used-3'],
];

/**
 * A permit's state and its settle methods. Without the leak backstop it is the handle itself
 * (one allocation per permit); with it, the handle is a {@link WatchedPermit} around it,
 * because the registry's held value must not reference the object it watches.
 */
class AtomicPermit extends SyncBudgetPermitBase implements LeakWatch {
  status: number = HELD;
  registered = false;
  constructor(
    readonly budget: AtomicBudget,
    readonly cost: number,
    readonly epoch: number,
  ) {
    super();
  }

  get state(): PermitState {
    return permitStateOf(this.status);
  }
  releaseSync(): boolean {
    return this.budget[settle](this, RELEASED, false);
  }
  commitSync(used?: number): boolean {
    return this.budget[settle](this, COMMITTED, false, used);
  }
  isArmed(): boolean {
    return this.status === HELD;
  }
  collected(): void {
    this.budget[settle](this, RELEASED, true);
  }
}

/**
 * In-process budget over a fixed capacity of units: the reference's lock-free counter. In a
 * single JavaScript thread every synchronous method is atomic, so there is no CAS loop to
 * write; the Promise methods wrap the synchronous ones.
 *
 * Two ways to reserve:
 * - the count API, `tryReserve(cost)` / `release(cost)`, as in the reference. Releasing more
 *   than it holds is clamped, counted in {@link AtomicBudget.overReleased} and reported
 *   (or, with `strict`, thrown), so a double release cannot push the budget past capacity;
 * - permits, `tryAcquire(cost)`, whose handle is settled exactly once and is fenced to its
 *   epoch, so a release after a `reset` refill cannot inflate the new epoch.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 *
 * const budget = new AtomicBudget(1_000);
 * if (budget.tryReserveSync(250)) {
 *   // dispatch happens here ...
 *   budget.releaseSync(250);
 * }
 * using permit = budget.tryAcquireSync(100); // released at the end of the scope
 * ```
 */
export class AtomicBudget extends SyncGuardBase implements SyncBudgetGuard, CountCells {
  /** Total capacity, fixed at construction. */
  readonly capacity: number;
  /** What {@link AtomicBudget.refill} does with held reservations. */
  readonly refillPolicy: RefillPolicy;
  private avail: number;
  private countHeld = 0;
  private permitHeld = 0;
  private epochValue = 0;
  private overReleasedUnits = 0;
  private leakCount = 0;
  private readonly strict: boolean;
  private readonly backstop: boolean;
  private observer: BudgetObserver | undefined;
  /** The own `tryReserveSync` / `releaseSync` while no observer listens, else `OBSERVED`. */
  #countReserve: unknown = OBSERVED;
  #countRelease: unknown = OBSERVED;
  private observerList: ObserverList | undefined;
  private readonly name: string | undefined;
  /** The refill schedule this budget follows, if any (see {@link AtomicBudget.followSchedule}). */
  private schedule: (() => void) | undefined;

  /** Synchronous, pool count release, partial commit, its refill policy, schedulable. */
  get capabilities(): SchedulableCapabilities {
    return this.refillPolicy === 'carry' ? CARRY_CAPABILITIES : RESET_CAPABILITIES;
  }

  /**
   * @param capacity - total units, a non-negative safe integer; the budget starts full.
   * @param options - refill policy, strict over-release, observer, name, leak backstop.
   */
  constructor(capacity: number, options: AtomicBudgetOptions = {}) {
    super();
    assertAmount(capacity, 'capacity');
    checkCommonOptions(options);
    this.strict = strictOf(options.strict);
    this.refillPolicy = checkRefillPolicy(options.refillPolicy);
    this.capacity = capacity + 0; // + 0 turns a capacity of -0 into 0
    this.avail = this.capacity;
    this.backstop = options.leakBackstop ?? true;
    AtomicBudget.#watch(this, guardObserver(options.observer));
    this.name = options.name;
  }

  /**
   * Add a listener for this budget's events, beside the `observer` given at construction;
   * combinators use it to wake waiters on releases and refills made directly on the budget.
   *
   * @param listener - called with every {@link BudgetEvent} after the state change.
   * @returns a function that removes the listener (calling it twice is harmless).
   *
   * @example
   * ```ts
   * import { AtomicBudget } from '@budgetry/core';
   *
   * const slots = new AtomicBudget(2);
   * const stop = slots.subscribe((event) => {
   *   if (event.type === 'release') console.log('a slot came back');
   * });
   * stop();
   * ```
   */
  subscribe(listener: BudgetObserver): () => void {
    this.observerList ??= new ObserverList(this.observer, (o) => AtomicBudget.#watch(this, o));
    return this.observerList.add(listener);
  }

  /**
   * Keep this budget's epochs in step with a refill schedule's clock: `catchUp` runs at the
   * start of every operation — reads, reservations, releases, and settling a handle — so a
   * permit or reservation settles against the epoch the clock says it is in, even when
   * nothing else touched the budget since the boundary passed. Refill schedulers (for example
   * `lazyRefill` in `@budgetry/compose`) attach themselves through it; a budget follows one
   * schedule at a time.
   *
   * @param catchUp - applies the refills the schedule says are due; called before each operation.
   * @returns a function that detaches the schedule (calling it twice is harmless).
   * @throws BudgetError `INVALID_ARGUMENT` when `catchUp` is not a function or another schedule
   * is attached.
   *
   * @example
   * ```ts
   * import { AtomicBudget } from '@budgetry/core';
   *
   * const budget = new AtomicBudget(10);
   * let due = false;
   * const detach = budget.followSchedule(() => {
   *   if (due) {
   *     due = false;
   *     budget.refill();
   *   }
   * });
   * detach();
   * ```
   */
  followSchedule(catchUp: () => void): () => void {
    checkSchedule(catchUp, this.schedule !== undefined, this.name);
    this.schedule = catchUp;
    const remove = interpose(this, SCHEDULED, ['epoch'], catchUp);
    return () => {
      if (this.schedule !== catchUp) return;
      this.schedule = undefined;
      remove();
    };
  }

  /** Units that can be reserved right now. */
  available(): number {
    return this.avail;
  }

  /** Units reserved and not yet released or committed in a live epoch. */
  held(): number {
    return this.countHeld + this.permitHeld;
  }

  /** The current refill epoch, starting at 0 and incremented by every refill. */
  get epoch(): number {
    return this.epochValue;
  }

  /** Units the count API was asked to release beyond what it held (and ignored). */
  overReleased(): number {
    return this.overReleasedUnits;
  }

  /** Permits garbage-collected while held, refunded by the backstop. */
  leaks(): number {
    return this.leakCount;
  }

  /**
   * Utilization in `[0, 1]`, for telemetry gauges; 0 for a zero-capacity budget.
   *
   * @returns the fraction of capacity not available.
   */
  utilization(): number {
    // Through `available()`, so that a refill schedule catches up first.
    return this.capacity === 0 ? 0 : (this.capacity - this.available()) / this.capacity;
  }

  /** All counters at once. */
  snapshot(): AtomicBudgetSnapshot {
    return {
      capacity: this.capacity,
      available: this.avail,
      held: this.countHeld + this.permitHeld,
      epoch: this.epochValue,
      overReleased: this.overReleasedUnits,
      leaks: this.leakCount,
    };
  }

  /**
   * Begin a new epoch, typically at the start of each scheduling period. With `reset` the
   * budget becomes full and older reservations are fenced off; with `carry` it becomes
   * capacity minus what is still held.
   *
   * @param times - refills to apply at once (default 1), as that many calls would: the epoch
   * advances by `times`. A positive safe integer.
   * @throws BudgetError `INVALID_ARGUMENT` when `times` is not a positive safe integer, or
   * would take the epoch past 2^53 − 1 (nothing changes).
   */
  refill(times = 1): void {
    checkTimes(times, this.epochValue);
    this.epochValue += times;
    if (this.refillPolicy === 'reset') {
      this.countHeld = 0;
      this.permitHeld = 0;
      this.avail = this.capacity;
    } else {
      this.avail = this.capacity - this.countHeld - this.permitHeld;
    }
    this.observer?.({
      type: 'refill',
      budget: this.name,
      epoch: this.epochValue,
      policy: this.refillPolicy,
      available: this.avail,
    });
  }

  /**
   * Reserve `cost` units, synchronously.
   *
   * @param cost - a non-negative safe integer; 0 is always granted, more than capacity never.
   * @returns `true` when reserved, `false` on soft denial (nothing changed).
   */
  tryReserveSync(cost: number): boolean {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    if (cost > this.avail) {
      if (this.observer !== undefined) this.report('deny', cost);
      return false;
    }
    this.avail -= cost;
    this.countHeld += cost;
    if (this.observer !== undefined) this.report('reserve', cost);
    return true;
  }

  /**
   * Return `cost` units reserved with {@link AtomicBudget.tryReserveSync}. Units beyond what
   * the count API holds in the current epoch are ignored and counted as over-released (or,
   * with `strict`, the call throws `OVER_RELEASE` and changes nothing).
   *
   * @param cost - a non-negative safe integer.
   */
  releaseSync(cost: number): void {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    // The common case stays inline and small; an over-release takes the out-of-line path.
    const accepted = cost > this.countHeld ? this.acceptOverRelease(cost) : cost;
    this.countHeld -= accepted;
    this.avail += accepted;
    if (this.observer !== undefined) this.reportRelease(cost, accepted);
  }

  /** On every instance this class built, never on a Proxy of one (see `isOwn`). */
  #own(): void {}
  /** @internal Whether `value` was built by this class or a subclass, and is not a Proxy. */
  static isOwn(value: object): boolean {
    return #own in value;
  }

  /**
   * Sets the observer, and the own methods the count API compares with while none listens (one
   * read keeps each count method within the 27 bytes V8 always inlines); a Proxy: see `markObserved`.
   */
  static #watch(budget: AtomicBudget, observer: BudgetObserver | undefined): void {
    budget.observer = observer;
    if (#countReserve in budget) {
      budget.#countReserve = observer === undefined ? ownReserve : OBSERVED;
      budget.#countRelease = observer === undefined ? ownRelease : OBSERVED;
    } else markObserved(budget, observer !== undefined);
  }

  /** @internal See {@link CountCells}. */
  countFits(cost: number): boolean {
    return this.tryReserveSync === this.#countReserve && cost <= this.avail;
  }
  /** @internal See {@link CountCells}. */
  countTake(cost: number): void {
    this.avail -= cost;
    this.countHeld = cost + this.countHeld; // `cost +` first: 27 bytes of bytecode (see `#watch`)
  }
  /** @internal See {@link CountCells}. */
  countHolds(cost: number): boolean {
    return this.releaseSync === this.#countRelease && cost <= this.countHeld;
  }
  /** @internal See {@link CountCells}. */
  countGive(cost: number): void {
    this.countHeld -= cost;
    this.avail = cost + this.avail;
  }

  /** The part of an over-release that is accepted (what is held); counts the excess. */
  private acceptOverRelease(cost: number): number {
    const accepted = acceptedRelease(cost, this.countHeld, this.strict, this.name);
    this.overReleasedUnits = Math.min(
      this.overReleasedUnits + cost - accepted,
      Number.MAX_SAFE_INTEGER,
    );
    return accepted;
  }

  private reportRelease(cost: number, accepted: number): void {
    reportCountRelease(this.observer!, this.name, cost, accepted, this.avail);
  }

  /**
   * Reserve `cost` units as a permit, synchronously.
   *
   * @param cost - a non-negative safe integer.
   * @returns a held permit, or `null` on soft denial.
   */
  tryAcquireSync(cost: number): SyncBudgetPermit | null {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    if (cost > this.avail) {
      if (this.observer !== undefined) this.report('deny', cost);
      return null;
    }
    this.avail -= cost;
    this.permitHeld += cost;
    const permit = new AtomicPermit(this, cost, this.epochValue);
    let handle: SyncBudgetPermit = permit;
    if (this.backstop) {
      handle = new WatchedPermit(permit);
      watchLeak(handle, permit);
    }
    if (this.observer !== undefined) this.report('reserve', cost);
    return handle;
  }

  private report(type: 'reserve' | 'deny', cost: number): void {
    this.observer!({ type, budget: this.name, cost, available: this.avail });
  }

  /**
   * Settles a permit once; returns whether this call settled it. A commit keeps `used` units
   * (default all) and returns the rest, in the same step, unless a reset fenced the permit.
   */
  [settle](
    cell: AtomicPermit,
    to: typeof RELEASED | typeof COMMITTED,
    leaked: boolean,
    used?: number,
  ): boolean {
    const spent = used === undefined ? cell.cost : checkUsed(used, cell.cost);
    if (cell.status !== HELD) return false;
    cell.status = to;
    unwatchLeak(cell);
    const live = this.refillPolicy === 'carry' || cell.epoch === this.epochValue;
    const back = to === RELEASED ? cell.cost : cell.cost - spent;
    let refunded = 0;
    if (live) {
      this.permitHeld -= cell.cost;
      this.avail += back;
      refunded = back;
    }
    if (leaked) this.leakCount++;
    const observer = this.observer;
    if (observer !== undefined) {
      if (to === RELEASED) {
        observer({
          type: 'release',
          budget: this.name,
          cost: cell.cost,
          refunded,
          available: this.avail,
        });
      } else {
        observer({ type: 'commit', budget: this.name, cost: cell.cost, used: spent, refunded });
      }
      if (leaked) observer({ type: 'leak', budget: this.name, amount: cell.cost, refunded });
    }
    return true;
  }
}

/** The count API as the class defines it, to tell an instance whose methods were replaced. */
const { tryReserveSync: ownReserve, releaseSync: ownRelease } = AtomicBudget.prototype;
