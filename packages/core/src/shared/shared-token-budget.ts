import { reportCountRelease } from '../budgets/count-release.js';
import { debtFloor, writtenOff } from '../budgets/debt.js';
import { checkSchedule, interpose, TOKEN_BUDGET_SCHEDULED } from '../budgets/schedule.js';
import { systemClock } from '../budgets/system-clock.js';
import { TokenReservation } from '../budgets/token-reservation.js';
import { assertAmount } from '../spec/amount.js';
import { BudgetError } from '../spec/budget-error.js';
import type { BudgetGuard } from '../spec/budget-guard.js';
import type { SyncTokenBudget } from '../spec/token-budget.js';
import { catchUpDue, scheduledElsewhere } from './due-refill.js';
import {
  H_CLOSED,
  HF_DUE,
  KIND_TOKENS,
  L_COUNT,
  L_EPOCH,
  L_HELD,
  LOCK_CONTENDED,
  S_AVAIL,
  S_CONSUMED,
  S_COUNT,
  S_EPOCH,
  S_FORGIVEN,
  S_HELD,
  S_LEAKS,
  S_MAX_DEBT,
  W_LOCK,
} from './layout.js';
import { releaseCountLocked } from './locked-count-release.js';
import { closedError } from './memory.js';
import { assertSharedMemory, type SharedBudgetDescriptor, SharedRegion } from './region.js';
import { checkOpenOptions, type SharedOpenOptions } from './shared-options.js';
import { SharedTokenHandle } from './shared-token-handle.js';
import { createTokenRegion, type SharedTokenBudgetOptions } from './shared-token-options.js';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * A budget of LLM tokens whose state lives in a `SharedArrayBuffer`, so worker threads share it
 * exactly: the semantics and declared capabilities of {@link AtomicTokenBudget} (estimates
 * reserved up front and reconciled with `recordUsage`, exact debt paid first by refunds and
 * refills, `maxDebt`, epochs fencing `reset` refills, `carry`, the count API with over-release
 * accounting, the leak backstop), atomic across threads.
 *
 * Create it once, send {@link SharedTokenBudget.share}'s descriptor to each worker with
 * `postMessage`, and reopen it there with {@link SharedTokenBudget.open}. A reservation settles
 * in the thread that took it; its estimate is held in the shared memory, in the lane of the
 * handle that issued it. When that handle's thread exits or stops beating for `leaseMs`, its
 * estimates come back exactly once (`releaseOnExit`, `reclaimExpired`); recording such a
 * reservation later charges its whole usage and refunds nothing.
 *
 * Each call takes a lock word with one compare-and-exchange and releases it with one exchange;
 * in between are only loads and stores of 64-bit lanes, so available, debt, reserved and epoch
 * always move together.
 *
 * @example
 * ```ts
 * import { Worker } from 'node:worker_threads';
 * import { SharedTokenBudget } from '@budgetry/core';
 *
 * const tokens = new SharedTokenBudget(100_000, { name: 'tokens' });
 * const worker = new Worker(new URL('./llm-worker.js', import.meta.url), {
 *   workerData: tokens.share(),
 * });
 * tokens.releaseOnExit(worker);
 * // in llm-worker.js:
 * //   const tokens = SharedTokenBudget.open(workerData);
 * //   const r = tokens.tryReserveTokensSync(2_000);
 * //   if (r) tokens.recordUsageSync(r, usage.prompt, usage.completion);
 * ```
 */
export class SharedTokenBudget extends SharedTokenHandle implements SyncTokenBudget, BudgetGuard {
  private schedule: (() => void) | undefined;
  private readonly refundFn = (amount: number, epoch: number) => this.refundFrom(amount, epoch);
  private readonly leakFn = (amount: number, epoch: number, refunded?: number) =>
    this.countLeak(amount, epoch, refunded);

  /**
   * @param capacity - total tokens, a non-negative safe integer; the budget starts full.
   * @param options - refill policy, debt cap, strict count API, observer, name, leak backstop,
   * and the shared settings: `maxHandles`, `maxWaiters`, `leaseMs`, `clock`.
   * @throws BudgetError `BACKEND` where `SharedArrayBuffer` is unavailable; `INVALID_AMOUNT` or
   * `INVALID_ARGUMENT` for bad settings.
   */
  constructor(capacity: number, options?: SharedTokenBudgetOptions);
  /** @internal Opens a descriptor; use {@link SharedTokenBudget.open}. */
  constructor(capacity: number, options: SharedOpenOptions, region: SharedRegion);
  constructor(capacity: number, options: SharedTokenBudgetOptions = {}, opened?: SharedRegion) {
    assertSharedMemory('SharedTokenBudget');
    super(opened ?? createTokenRegion(capacity, options), options, opened === undefined);
  }

  /**
   * Reopens, in this thread, a token budget another thread shared: a new handle on the same
   * tokens.
   *
   * @param descriptor - what {@link SharedTokenBudget.share} returned, received through
   * `postMessage`.
   * @param options - this handle's observer, leak backstop and clock.
   * @returns a handle with its own lane.
   * @throws BudgetError `INVALID_ARGUMENT` for anything that is not such a descriptor (a copy
   * that lost its `SharedArrayBuffer`, one from another process, another layout version, a
   * `SharedBudget`'s), `CLOSED` when the creator closed the budget, `BACKEND` when every
   * handle is taken.
   */
  static open(
    descriptor: SharedBudgetDescriptor,
    options: SharedOpenOptions = {},
  ): SharedTokenBudget {
    assertSharedMemory('SharedTokenBudget.open');
    checkOpenOptions(options);
    const region = SharedRegion.open(descriptor, KIND_TOKENS, options.clock ?? systemClock);
    return new SharedTokenBudget(0, options, region);
  }

  /** What to `postMessage` to a worker so it can {@link SharedTokenBudget.open} this budget. */
  share(): SharedBudgetDescriptor {
    return this.region.describe('tokens');
  }

  /**
   * Keep this budget's epochs in step with a refill schedule, in one thread (see
   * `AtomicTokenBudget.followSchedule`). compose's schedulers also publish the next boundary in the shared memory
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
    const remove = interpose(this, TOKEN_BUDGET_SCHEDULED, ['epoch'], catchUp);
    return () => {
      if (this.schedule !== catchUp) return;
      this.schedule = undefined;
      remove();
    };
  }

  /** The current refill epoch, starting at 0. */
  get epoch(): number {
    this.catchUpDue();
    return this.region.read(S_EPOCH);
  }

  /**
   * Reserve `estimate` tokens, synchronously.
   *
   * @param estimate - a non-negative safe integer; 0 is always granted.
   * @returns the armed reservation, or `null` on soft denial (nothing changed).
   * @throws BudgetError `CLOSED` or `LEASE_EXPIRED` when this handle can no longer be used.
   */
  tryReserveTokensSync(estimate: number): TokenReservation | null {
    assertAmount(estimate, 'estimate');
    const f = this.f64;
    if (f[HF_DUE] !== Number.POSITIVE_INFINITY) catchUpDue(this, this.region);
    const i32 = this.i32;
    if (Atomics.compareExchange(i32, W_LOCK, 0, this.owner) !== 0) this.region.slowLock();
    if (i32[this.genIndex] !== this.gen || i32[H_CLOSED] !== 0) this.refuse();
    const net = f[S_AVAIL]!;
    const available = Math.max(net, 0);
    if (estimate > available) {
      this.unlock();
      this.observer?.({ type: 'deny', budget: this.name, cost: estimate, available });
      return null;
    }
    const lf = this.laneF;
    const epoch = f[S_EPOCH]!;
    // Holds of an epoch a reset fenced off no longer count for this lane.
    const fresh = !this.carry && f[lf + L_EPOCH] !== epoch;
    const laneCount = fresh ? 0 : f[lf + L_COUNT]!;
    const laneHeld = (fresh ? 0 : f[lf + L_HELD]!) + estimate;
    const held = f[S_HELD]! + estimate;
    // The tail: stores only.
    f[S_AVAIL] = net - estimate;
    f[S_HELD] = held;
    f[lf + L_EPOCH] = epoch;
    f[lf + L_COUNT] = laneCount;
    f[lf + L_HELD] = laneHeld;
    if ((Atomics.exchange(i32, W_LOCK, 0) & LOCK_CONTENDED) !== 0) Atomics.notify(i32, W_LOCK, 1);
    if (--this.callsToBeat === 0) this.beatNow();
    const reservation = new TokenReservation({
      estimate,
      owner: this,
      epoch,
      refund: this.refundFn,
      backstop: this.backstop,
      onLeak: this.leakFn,
    });
    if (this.observer !== undefined) this.report('reserve', estimate, available - estimate);
    return reservation;
  }

  /**
   * Reconcile `reservation` with actual usage, synchronously (see
   * `AtomicTokenBudget.recordUsageSync`): the estimate is released and `prompt + completion`
   * charged; for a reservation of an older epoch under `reset`, only the overage beyond its
   * estimate. A reservation whose handle's lane was given back (its lease expired, its thread
   * exited, or the handle was closed) returned its estimate then: its whole usage is charged,
   * and nothing is refunded again.
   *
   * @param reservation - a reservation this handle issued, armed or disarmed.
   * @param prompt - prompt tokens, a non-negative safe integer.
   * @param completion - completion tokens, a non-negative safe integer.
   * @throws BudgetError `INVALID_AMOUNT`, `INVALID_ARGUMENT`, `FOREIGN_HANDLE`,
   * `ALREADY_SETTLED` or `CLOSED` (the budget was closed), with nothing changed.
   */
  recordUsageSync(reservation: TokenReservation, prompt: number, completion: number): void {
    assertAmount(prompt, 'prompt');
    assertAmount(completion, 'completion');
    const actual = prompt + completion;
    assertAmount(actual, 'prompt + completion');
    if (!(reservation instanceof TokenReservation)) {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: 'recordUsage expects a TokenReservation from tryReserveTokens',
        details: { budget: this.name },
      });
    }
    // A handle this budget refuses is refused before a due refill is applied (claim throws).
    if (!reservation.claimableBy(this)) reservation.claim(this, this.refundFn);
    this.catchUpDue();
    if (Atomics.load(this.i32, H_CLOSED) !== 0) throw closedError(this.name);
    reservation.claim(this, this.refundFn);
    const estimate = reservation.estimate;
    const f = this.f64;
    this.lock();
    // Closed since the check above: the budget keeps no accounts any more.
    const open = this.i32[H_CLOSED] === 0;
    const live = open && (this.carry || reservation.epoch === f[S_EPOCH]);
    const ours = live && this.i32[this.genIndex] === this.gen;
    const lf = this.laneF;
    // A lane given back returned the estimate then: the whole usage is owed. A reservation a
    // reset fenced owes only its overage.
    let change = 0;
    if (ours) change = estimate - actual;
    else if (live) change = -actual;
    else if (open && actual > estimate) change = estimate - actual;
    // available − debt moves by `change`, never below −maxDebt (nor −(2^53 − 1)); the rest is
    // written off, as in `AtomicTokenBudget`.
    const net = f[S_AVAIL]!;
    const maxDebt = f[S_MAX_DEBT]!;
    const forgiven = writtenOff(net, change, maxDebt);
    const after = forgiven === 0 ? net + change : debtFloor(maxDebt);
    const forgivenTotal = Math.min(f[S_FORGIVEN]! + forgiven, MAX);
    const consumed = open ? Math.min(f[S_CONSUMED]! + actual, MAX) : f[S_CONSUMED]!;
    const held = ours ? f[S_HELD]! - estimate : f[S_HELD]!;
    const laneHeld = ours ? f[lf + L_HELD]! - estimate : f[lf + L_HELD]!;
    // The tail: stores only.
    f[S_CONSUMED] = consumed;
    f[S_HELD] = held;
    f[lf + L_HELD] = laneHeld;
    f[S_AVAIL] = after;
    f[S_FORGIVEN] = forgivenTotal;
    this.unlock();
    if (change > 0) this.region.freed();
    const observer = this.observer;
    if (observer !== undefined) {
      const debt = after < 0 ? -after : 0;
      const available = Math.max(after, 0);
      observer({ type: 'record', budget: this.name, estimate, actual, available, debt });
      if (change < 0 && (debt > 0 || forgiven > 0)) {
        observer({ type: 'debt', budget: this.name, debt, forgiven });
      }
    }
  }

  /**
   * Reserve `cost` tokens without a handle: the count API (see
   * `AtomicTokenBudget.tryReserveSync`), one pool across all threads.
   *
   * @param cost - a non-negative safe integer; 0 is always granted.
   * @returns `true` when reserved, `false` on soft denial (nothing changed).
   * @throws BudgetError `CLOSED` or `LEASE_EXPIRED` when this handle can no longer be used.
   */
  tryReserveSync(cost: number): boolean {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    const f = this.f64;
    if (f[HF_DUE] !== Number.POSITIVE_INFINITY) catchUpDue(this, this.region);
    const i32 = this.i32;
    if (Atomics.compareExchange(i32, W_LOCK, 0, this.owner) !== 0) this.region.slowLock();
    if (i32[this.genIndex] !== this.gen || i32[H_CLOSED] !== 0) this.refuse();
    // `net` is negative while in debt: nothing is available then, and a cost of 0 still fits.
    const net = f[S_AVAIL]!;
    if (cost > net && cost > 0) {
      this.unlock();
      if (this.observer !== undefined) this.report('deny', cost, Math.max(net, 0));
      return false;
    }
    const lf = this.laneF;
    const epoch = f[S_EPOCH]!;
    const fresh = !this.carry && f[lf + L_EPOCH] !== epoch;
    const laneCount = (fresh ? 0 : f[lf + L_COUNT]!) + cost;
    const laneHeld = fresh ? 0 : f[lf + L_HELD]!;
    const count = f[S_COUNT]! + cost;
    const held = f[S_HELD]! + cost;
    // The tail: stores only.
    f[S_AVAIL] = net - cost;
    f[S_COUNT] = count;
    f[S_HELD] = held;
    f[lf + L_EPOCH] = epoch;
    f[lf + L_COUNT] = laneCount;
    f[lf + L_HELD] = laneHeld;
    if ((Atomics.exchange(i32, W_LOCK, 0) & LOCK_CONTENDED) !== 0) Atomics.notify(i32, W_LOCK, 1);
    if (--this.callsToBeat === 0) this.beatNow();
    if (this.observer !== undefined) this.report('reserve', cost, Math.max(net - cost, 0));
    return true;
  }

  /**
   * Return `cost` tokens reserved with {@link SharedTokenBudget.tryReserveSync} in any thread;
   * refunds pay debt first. Tokens beyond what the count API holds in the current epoch are
   * ignored and counted as over-released (or, with `strict`, the call throws `OVER_RELEASE` and
   * changes nothing).
   *
   * @param cost - a non-negative safe integer.
   * @throws BudgetError `CLOSED` or `LEASE_EXPIRED` when this handle can no longer be used.
   */
  releaseSync(cost: number): void {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    this.catchUpDue();
    const f = this.f64;
    const i32 = this.i32;
    if (Atomics.compareExchange(i32, W_LOCK, 0, this.owner) !== 0) this.region.slowLock();
    if (i32[this.genIndex] !== this.gen || i32[H_CLOSED] !== 0) this.refuse();
    const accepted = releaseCountLocked(this.region, cost);
    const net = f[S_AVAIL]!;
    if ((Atomics.exchange(i32, W_LOCK, 0) & LOCK_CONTENDED) !== 0) Atomics.notify(i32, W_LOCK, 1);
    if (--this.callsToBeat === 0) this.beatNow();
    if (accepted > 0) this.region.freed();
    if (this.observer !== undefined) {
      reportCountRelease(this.observer, this.name, cost, accepted, Math.max(net, 0));
    }
  }

  /**
   * A reservation's refund (dispose, a disarmed refund, the backstop): nothing when a reset
   * fenced its epoch, its lane was given back (the estimate came back then) or the budget closed.
   */
  private refundFrom(amount: number, epoch: number): number {
    const f = this.f64;
    this.lock();
    const live = this.holds(epoch);
    const lf = this.laneF;
    const back = live ? amount : 0;
    const held = f[S_HELD]! - back;
    const laneHeld = f[lf + L_HELD]! - back;
    const net = f[S_AVAIL]! + back;
    // The tail: stores only.
    f[S_HELD] = held;
    f[lf + L_HELD] = laneHeld;
    f[S_AVAIL] = net;
    this.unlock();
    const available = Math.max(net, 0);
    if (live) this.region.freed();
    const refunded = live ? amount : 0;
    this.observer?.({ type: 'release', budget: this.name, cost: amount, refunded, available });
    return refunded;
  }

  /**
   * After the backstop refunded a collected reservation: counts and reports the leak, with
   * what the refund returned (`refunded`; read again only where the refund did not say).
   */
  private countLeak(amount: number, epoch: number, back?: number): void {
    const f = this.f64;
    this.lock();
    const refunded = back ?? (this.holds(epoch) ? amount : 0);
    const leaks = Math.min(f[S_LEAKS]! + 1, MAX);
    f[S_LEAKS] = leaks; // the tail: one store
    this.unlock();
    this.observer?.({ type: 'leak', budget: this.name, amount, refunded });
  }
}
