import { assertAmount } from '../spec/amount.js';
import { BudgetError } from '../spec/budget-error.js';
import type { BudgetGuard } from '../spec/budget-guard.js';
import { type SchedulableCapabilities, schedulableCapabilities } from '../spec/capabilities.js';
import type { BudgetObserver } from '../spec/events.js';
import { checkRefillPolicy, type RefillPolicy } from '../spec/refill-policy.js';
import type { SyncTokenBudget } from '../spec/token-budget.js';
import type { AtomicTokenBudgetOptions, AtomicTokenBudgetSnapshot } from './atomic-options.js';
import { acceptedRelease, OBSERVED, reportCountRelease } from './count-release.js';
import { debtAfter, debtFloor, writtenOff } from './debt.js';
import { guardObserver, markObserved, ObserverList } from './observer-list.js';
import { checkCommonOptions, checkMaxDebt, checkTimes, strictOf } from './options.js';
import { checkSchedule, interpose, TOKEN_BUDGET_SCHEDULED } from './schedule.js';
import { SyncTokenBudgetBase } from './sync-twins.js';
import { TokenReservation } from './token-reservation.js';

const RESET_CAPABILITIES = schedulableCapabilities('reset', false);
const CARRY_CAPABILITIES = schedulableCapabilities('carry', false);
const MAX_TOTAL = Number.MAX_SAFE_INTEGER;

/**
 * In-process budget of LLM tokens (or any spend known only afterwards): the reference's
 * `AtomicTokenBudget` with exact debt and epochs.
 *
 * `tryReserveTokens` deducts an estimate up front so concurrent calls cannot all
 * over-commit; `recordUsage` reconciles one reservation with the provider's totals. Unused
 * estimate is refunded; overage is owed in full: `available()` stays 0 while `debt()` is
 * positive, and refunds and refills pay the debt before anything else.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 *
 * const tokens = new AtomicTokenBudget(1_000);
 * const reservation = tokens.tryReserveTokensSync(400);
 * if (reservation) {
 *   tokens.recordUsageSync(reservation, 120, 80);
 * }
 * console.log(tokens.available(), tokens.tokensConsumedSync()); // 800 200
 * ```
 */
export class AtomicTokenBudget extends SyncTokenBudgetBase implements SyncTokenBudget, BudgetGuard {
  /** Total capacity, fixed at construction. */
  readonly capacity: number;
  /** What {@link AtomicTokenBudget.refill} does with armed reservations. */
  readonly refillPolicy: RefillPolicy;
  /** Largest debt carried before overage is written off. */
  readonly maxDebt: number;
  /** available − debt: negative while in debt. */
  private net: number;
  /** Estimates of armed reservations in live epochs; tokens held through the count API. */
  private armedTotal = 0;
  private countHeld = 0;
  private overReleasedUnits = 0;
  private readonly strict: boolean;
  private consumed = 0;
  private epochValue = 0;
  private forgiven = 0;
  private leakCount = 0;
  private readonly backstop: boolean;
  private observer: BudgetObserver | undefined;
  /** The own `tryReserveSync` / `releaseSync` while no observer listens, else `OBSERVED`. */
  #countReserve: unknown = OBSERVED;
  #countRelease: unknown = OBSERVED;
  private observerList: ObserverList | undefined;
  private readonly name: string | undefined;
  /** The refill schedule this budget follows, if any (see {@link AtomicTokenBudget.followSchedule}). */
  private schedule: (() => void) | undefined;

  /** Synchronous, pool count release, its refill policy, schedulable; reservations are not permits. */
  get capabilities(): SchedulableCapabilities {
    return this.refillPolicy === 'carry' ? CARRY_CAPABILITIES : RESET_CAPABILITIES;
  }
  private readonly refundFn = (amount: number, epoch: number) => this.refundFrom(amount, epoch);
  /** After the backstop refunded a collected reservation (`refunded`: what went back). */
  private readonly leakFn = (amount: number, epoch: number, refunded?: number): void => {
    this.leakCount++;
    const back = refunded ?? (this.isLive(epoch) ? amount : 0);
    this.observer?.({ type: 'leak', budget: this.name, amount, refunded: back });
  };

  /**
   * @param capacity - total tokens, a non-negative safe integer; the budget starts full.
   * @param options - refill policy, debt cap, strict count API, observer, name, leak backstop.
   */
  constructor(capacity: number, options: AtomicTokenBudgetOptions = {}) {
    super();
    assertAmount(capacity, 'capacity');
    checkCommonOptions(options);
    const maxDebt = checkMaxDebt(options.maxDebt);
    this.strict = strictOf(options.strict);
    this.refillPolicy = checkRefillPolicy(options.refillPolicy);
    this.capacity = capacity + 0; // + 0 turns a capacity of -0 into 0
    this.net = this.capacity;
    this.maxDebt = maxDebt;
    this.backstop = options.leakBackstop ?? true;
    AtomicTokenBudget.#watch(this, guardObserver(options.observer));
    this.name = options.name;
  }

  /** {@inheritDoc AtomicBudget.subscribe} */
  subscribe(listener: BudgetObserver): () => void {
    this.observerList ??= new ObserverList(this.observer, (o) => AtomicTokenBudget.#watch(this, o));
    return this.observerList.add(listener);
  }

  /** {@inheritDoc AtomicBudget.followSchedule} */
  followSchedule(catchUp: () => void): () => void {
    checkSchedule(catchUp, this.schedule !== undefined, this.name);
    this.schedule = catchUp;
    const remove = interpose(this, TOKEN_BUDGET_SCHEDULED, ['epoch'], catchUp);
    return () => {
      if (this.schedule !== catchUp) return;
      this.schedule = undefined;
      remove();
    };
  }

  /** Tokens that can be reserved right now: 0 while in debt. */
  available(): number {
    return Math.max(this.net, 0);
  }

  /** Tokens owed: recorded overage not yet paid by refunds or refills. */
  debt(): number {
    return this.net < 0 ? -this.net : 0;
  }

  /** Sum of the estimates of armed reservations and count reservations in live epochs. */
  reserved(): number {
    return this.armedTotal + this.countHeld;
  }

  /** Debt written off because it exceeded `maxDebt`. */
  forgivenDebt(): number {
    return this.forgiven;
  }

  /** Reservations garbage-collected while armed, refunded by the backstop. */
  leaks(): number {
    return this.leakCount;
  }

  /** The current refill epoch, starting at 0. */
  get epoch(): number {
    return this.epochValue;
  }

  /**
   * Utilization in `[0, 1]`; 0 for a zero-capacity budget.
   *
   * @returns the fraction of capacity not available.
   */
  utilization(): number {
    return this.capacity === 0 ? 0 : (this.capacity - this.available()) / this.capacity;
  }

  /** All counters at once. */
  snapshot(): AtomicTokenBudgetSnapshot {
    return {
      capacity: this.capacity,
      available: Math.max(this.net, 0),
      debt: this.net < 0 ? -this.net : 0,
      reserved: this.armedTotal + this.countHeld,
      overReleased: this.overReleasedUnits,
      consumed: this.consumed,
      epoch: this.epochValue,
      forgivenDebt: this.forgiven,
      leaks: this.leakCount,
    };
  }

  /** Total tokens recorded since construction (never decreasing; saturates at 2^53 − 1). */
  tokensConsumedSync(): number {
    return this.consumed;
  }

  /**
   * Begin a new epoch. Debt is paid first: with `reset` the budget becomes capacity minus
   * debt and older reservations are fenced off (disposing them refunds nothing); with
   * `carry` the estimates still armed move into the new epoch, which becomes capacity minus
   * those estimates minus the debt the old epoch owes without them — the estimates are
   * charged once, to the new epoch, never also as old debt.
   *
   * @param times - refills to apply at once (default 1): the budget ends exactly as after that
   * many calls, each paying up to a capacity of debt, in one step (a schedule catching up on
   * a long idle period uses it). A positive safe integer.
   * @throws BudgetError `INVALID_ARGUMENT` when `times` is not a positive safe integer, or
   * would take the epoch past 2^53 − 1 (nothing changes).
   */
  refill(times = 1): void {
    checkTimes(times, this.epochValue);
    this.epochValue += times;
    let debt: number;
    if (this.refillPolicy === 'reset') {
      debt = this.net < 0 ? -this.net : 0;
      this.armedTotal = 0;
      this.countHeld = 0;
    } else {
      // What the old epoch would show once the carried reservations leave it.
      const closing = this.net + this.armedTotal + this.countHeld;
      debt = closing < 0 ? -closing : 0;
    }
    // Each refill after the first pays up to another capacity of what is still owed.
    this.net =
      this.capacity - this.armedTotal - this.countHeld - debtAfter(debt, this.capacity, times - 1);
    this.observer?.({
      type: 'refill',
      budget: this.name,
      epoch: this.epochValue,
      policy: this.refillPolicy,
      available: this.available(),
    });
  }

  /**
   * Reserve `estimate` tokens, synchronously.
   *
   * @param estimate - a non-negative safe integer; 0 is always granted.
   * @returns the armed reservation, or `null` on soft denial (nothing changed).
   */
  tryReserveTokensSync(estimate: number): TokenReservation | null {
    assertAmount(estimate, 'estimate');
    const available = Math.max(this.net, 0);
    if (estimate > available) {
      this.observer?.({ type: 'deny', budget: this.name, cost: estimate, available });
      return null;
    }
    this.net -= estimate;
    this.armedTotal += estimate;
    const reservation = new TokenReservation({
      estimate,
      owner: this,
      epoch: this.epochValue,
      refund: this.refundFn,
      backstop: this.backstop,
      onLeak: this.leakFn,
    });
    this.observer?.({
      type: 'reserve',
      budget: this.name,
      cost: estimate,
      available: this.available(),
    });
    return reservation;
  }

  /**
   * Reconcile `reservation` with actual usage, synchronously. The estimate is released and
   * `prompt + completion` charged: under-use comes back, overage is owed as debt. For a
   * reservation from an older epoch under `reset`, nothing is refunded and only the overage
   * beyond its estimate is charged to the current epoch.
   *
   * @param reservation - a reservation this budget issued, armed or disarmed.
   * @param prompt - prompt tokens, a non-negative safe integer.
   * @param completion - completion tokens, a non-negative safe integer.
   * @throws BudgetError `INVALID_AMOUNT`, `FOREIGN_HANDLE` or `ALREADY_SETTLED`, with nothing
   * changed.
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
    reservation.claim(this, this.refundFn);
    this.consumed = Math.min(this.consumed + actual, MAX_TOTAL);
    const estimate = reservation.estimate;
    let change = 0;
    if (this.isLive(reservation.epoch)) {
      this.armedTotal -= estimate;
      change = estimate - actual;
    } else if (actual > estimate) {
      change = estimate - actual;
    }
    const forgiven = writtenOff(this.net, change, this.maxDebt);
    this.net = forgiven > 0 ? debtFloor(this.maxDebt) : this.net + change;
    this.forgiven = Math.min(this.forgiven + forgiven, MAX_TOTAL);
    const observer = this.observer;
    if (observer !== undefined) {
      const debt = this.debt();
      observer({
        type: 'record',
        budget: this.name,
        estimate,
        actual,
        available: this.available(),
        debt,
      });
      if (actual > estimate && (debt > 0 || forgiven > 0)) {
        observer({ type: 'debt', budget: this.name, debt, forgiven });
      }
    }
  }

  /**
   * Reserve `cost` tokens without a handle: the count API of a {@link BudgetGuard}, for
   * combinators that treat a token budget as one more guard. The tokens stay reserved until
   * {@link AtomicTokenBudget.releaseSync} returns them or a `reset` refill fences them off;
   * use a reservation from `tryReserveTokensSync` when usage is to be reconciled.
   *
   * @param cost - a non-negative safe integer; 0 is always granted.
   * @returns `true` when reserved, `false` on soft denial (nothing changed).
   */
  tryReserveSync(cost: number): boolean {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    // `net` is negative while in debt: nothing is available then, and a cost of 0 still fits.
    if (cost > this.net && cost > 0) {
      if (this.observer !== undefined) this.reportCount('deny', cost, Math.max(this.net, 0));
      return false;
    }
    this.net -= cost;
    this.countHeld += cost;
    if (this.observer !== undefined) this.reportCount('reserve', cost, this.available());
    return true;
  }

  /** On every instance this class built, never on a Proxy of one (see `isOwn`). */
  #own(): void {}

  /** @internal Whether `value` was built by this class or a subclass, and is not a Proxy. */
  static isOwn(value: object): boolean {
    return #own in value;
  }

  /** Sets the observer and the count API's comparands (see `AtomicBudget`'s `#watch`). */
  static #watch(budget: AtomicTokenBudget, observer: BudgetObserver | undefined): void {
    budget.observer = observer;
    if (#countReserve in budget) {
      budget.#countReserve = observer === undefined ? ownReserve : OBSERVED;
      budget.#countRelease = observer === undefined ? ownRelease : OBSERVED;
    } else markObserved(budget, observer !== undefined);
  }

  /** @internal See `CountCells`. */
  countFits(cost: number): boolean {
    return this.tryReserveSync === this.#countReserve && cost <= this.net;
  }
  /** @internal See `CountCells`. */
  countTake(cost: number): void {
    this.net -= cost;
    this.countHeld = cost + this.countHeld; // `cost +` first: see AtomicBudget's `#watch`
  }
  /** @internal See `CountCells`. */
  countHolds(cost: number): boolean {
    return this.releaseSync === this.#countRelease && cost <= this.countHeld;
  }
  /** @internal See `CountCells`. */
  countGive(cost: number): void {
    this.countHeld -= cost;
    this.net = cost + this.net;
  }

  private reportCount(type: 'reserve' | 'deny', cost: number, available: number): void {
    this.observer!({ type, budget: this.name, cost, available });
  }

  /**
   * Return `cost` tokens reserved with {@link AtomicTokenBudget.tryReserveSync}; refunds pay
   * debt first. Tokens beyond what the count API holds in the current epoch are ignored and
   * counted as over-released (or, with `strict`, the call throws `OVER_RELEASE` and changes
   * nothing).
   *
   * @param cost - a non-negative safe integer.
   */
  releaseSync(cost: number): void {
    if (!Number.isSafeInteger(cost) || cost < 0) assertAmount(cost, 'cost');
    const accepted = cost > this.countHeld ? this.acceptOverRelease(cost) : cost;
    this.countHeld -= accepted;
    this.net += accepted;
    if (this.observer !== undefined) this.reportRelease(cost, accepted);
  }

  /** The part of an over-release that is accepted (what is held); counts the excess. */
  private acceptOverRelease(cost: number): number {
    const accepted = acceptedRelease(cost, this.countHeld, this.strict, this.name);
    this.overReleasedUnits = Math.min(this.overReleasedUnits + cost - accepted, MAX_TOTAL);
    return accepted;
  }

  private reportRelease(cost: number, accepted: number): void {
    reportCountRelease(this.observer!, this.name, cost, accepted, this.available());
  }

  /** Tokens the count API was asked to release beyond what it held (and ignored). */
  overReleased(): number {
    return this.overReleasedUnits;
  }

  /** {@inheritDoc AtomicTokenBudget.tryReserveSync} */
  async tryReserve(cost: number): Promise<boolean> {
    return this.tryReserveSync(cost);
  }

  /** {@inheritDoc AtomicTokenBudget.releaseSync} */
  async release(cost: number): Promise<void> {
    this.releaseSync(cost);
  }

  private isLive(epoch: number): boolean {
    return this.refillPolicy === 'carry' || epoch === this.epochValue;
  }

  /** Returns a reservation's estimate if its epoch is live; returns what went back. */
  private refundFrom(amount: number, epoch: number): number {
    const refunded = this.isLive(epoch) ? amount : 0;
    this.armedTotal -= refunded;
    this.net += refunded;
    const available = this.available();
    this.observer?.({ type: 'release', budget: this.name, cost: amount, refunded, available });
    return refunded;
  }
}

/** The count API as the class defines it, to tell an instance whose methods were replaced. */
const { tryReserveSync: ownReserve, releaseSync: ownRelease } = AtomicTokenBudget.prototype;
