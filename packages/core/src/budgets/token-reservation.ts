import { assertAmount } from '../spec/amount.js';
import { BudgetError } from '../spec/budget-error.js';
import { type LeakWatch, reportAsyncFailure, unwatchLeak, watchLeak } from './backstop.js';

/**
 * Returns a reservation's estimate to the pool that issued it. Called at most once, with
 * the reservation's estimate and epoch, so the budget can fence refunds from older epochs.
 * Remote budgets may return a Promise. A budget may return the units that went back (0 for a
 * fenced epoch): a leak report (`onLeak`) then says what this refund returned.
 *
 * @example
 * ```ts
 * import type { TokenRefund } from '@budgetry/core';
 *
 * // A custom budget's refund channel: return the estimate unless its epoch has passed.
 * let available = 100;
 * const currentEpoch = 0;
 * const refund: TokenRefund = (amount, epoch) => {
 *   if (epoch === currentEpoch) available += amount;
 * };
 * ```
 */
export type TokenRefund = (amount: number, epoch: number) => void | number | Promise<void>;

/**
 * `armed` until settled; `disarmed` after {@link TokenReservation.disarm} (the caller owns
 * the refund); then `recorded` (reconciled with usage) or `refunded` (estimate returned).
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 *
 * const tokens = new AtomicTokenBudget(100);
 * const r = tokens.tryReserveTokensSync(10)!;
 * r[Symbol.dispose]();
 * console.log(r.state); // 'refunded'
 * ```
 */
export type TokenReservationState = 'armed' | 'disarmed' | 'recorded' | 'refunded';

/**
 * What a {@link TokenBudget} implementation passes to construct a reservation.
 *
 * @example
 * ```ts
 * import { TokenReservation } from '@budgetry/core';
 *
 * // Inside a custom TokenBudget implementation:
 * const owner = {};
 * let available = 100;
 * available -= 25;
 * const reservation = new TokenReservation({
 *   estimate: 25,
 *   owner,
 *   refund: (amount) => {
 *     available += amount;
 *   },
 * });
 * ```
 */
export interface TokenReservationInit {
  /** Tokens reserved for this call. */
  estimate: number;
  /** The budget that issued the reservation; only it may record or claim it. */
  owner: object;
  /** Returns the estimate to the pool; called at most once. */
  refund: TokenRefund;
  /** The refill epoch the reservation belongs to (default 0). */
  epoch?: number;
  /**
   * Refund through a `FinalizationRegistry` if the reservation is garbage-collected while
   * armed (default `true`).
   */
  backstop?: boolean;
  /**
   * Told the estimate and epoch after the backstop refunded a leaked reservation, and what the
   * refund returned when it said (a number).
   */
  onLeak?: (amount: number, epoch: number, refunded?: number) => void;
}

const ARMED = 0;
const DISARMED = 1;
const RECORDED = 2;
const REFUNDED = 3;
const stateNames: readonly TokenReservationState[] = ['armed', 'disarmed', 'recorded', 'refunded'];

class ReservationCell implements LeakWatch {
  state = ARMED;
  registered = false;
  constructor(
    readonly estimate: number,
    readonly epoch: number,
    readonly refund: TokenRefund,
    readonly onLeak: ((amount: number, epoch: number, refunded?: number) => void) | undefined,
  ) {}

  refundOnce(from: number): void | number | Promise<void> {
    if (this.state !== from) return;
    // Marked first, so a refund that re-enters (an observer disposing again) cannot refund
    // twice; put back if the refund throws, so the estimate is not stranded and the dispose
    // can be retried. A refund that returns a rejected Promise stays refunded: a remote
    // refund whose answer was lost may have been applied, and refunding twice is worse.
    this.state = REFUNDED;
    try {
      return this.refund(this.estimate, this.epoch);
    } catch (error) {
      this.state = from;
      throw error;
    }
  }

  isArmed(): boolean {
    return this.state === ARMED;
  }

  collected(): void {
    if (this.state !== ARMED) return;
    const back = this.refundOnce(ARMED);
    reportAsyncFailure(back);
    // What the refund says it returned, read when it returned it: a listener told of the
    // refund may have refilled the budget since, and a second look would find nothing live.
    this.onLeak?.(this.estimate, this.epoch, typeof back === 'number' ? back : undefined);
  }
}

/**
 * The handle for one optimistic token reservation, so reconciliation is per call even with
 * many calls in flight. Settled exactly once: recorded by the budget that issued it, or
 * refunded when disposed. `using r = …` refunds on every exit path that did not record it,
 * and a garbage-collected armed reservation is refunded and reported by the backstop.
 *
 * Budgets construct reservations; callers only read them, dispose them and pass them back.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 *
 * const tokens = new AtomicTokenBudget(1_000);
 * {
 *   using reservation = tokens.tryReserveTokensSync(400)!;
 *   console.log(reservation.estimate, tokens.available()); // 400 600
 * } // disposed without recordUsage: refunded
 * console.log(tokens.available()); // 1000
 * ```
 */
export class TokenReservation implements Disposable, AsyncDisposable {
  /** Tokens reserved for this call. */
  readonly estimate: number;
  /** The refill epoch this reservation belongs to. */
  readonly epoch: number;
  private readonly owner: object;
  private readonly cell: ReservationCell;

  /**
   * For {@link TokenBudget} implementations.
   *
   * @param init - estimate, issuing budget, refund channel and backstop options.
   */
  constructor(init: TokenReservationInit) {
    assertAmount(init.estimate, 'estimate');
    this.estimate = init.estimate;
    this.epoch = init.epoch ?? 0;
    this.owner = init.owner;
    this.cell = new ReservationCell(init.estimate, this.epoch, init.refund, init.onLeak);
    if (init.backstop !== false) watchLeak(this, this.cell);
  }

  /** Where the reservation is in its life. */
  get state(): TokenReservationState {
    return stateNames[this.cell.state]!;
  }

  /** Whether disposing the reservation would still refund its estimate. */
  get armed(): boolean {
    return this.cell.state === ARMED;
  }

  /**
   * Whether `budget` issued this reservation.
   *
   * @param budget - a budget instance.
   * @returns `true` for the issuing budget only.
   */
  isIssuedBy(budget: object): boolean {
    return this.owner === budget;
  }

  /**
   * Take the refund away from the handle, suppressing the refund on dispose, as the
   * reference's `disarm`. The returned function refunds the estimate at most once, and not
   * at all once the reservation has been recorded.
   *
   * @returns the refund function, or `null` if the reservation was already disarmed or
   * settled.
   */
  disarm(): (() => void | Promise<void>) | null {
    const cell = this.cell;
    if (cell.state !== ARMED) return null;
    cell.state = DISARMED;
    unwatchLeak(cell);
    return () => {
      const r = cell.refundOnce(DISARMED);
      return typeof r === 'number' ? undefined : r;
    };
  }

  /**
   * For {@link TokenBudget} implementations: mark the reservation recorded before
   * reconciling it. Throws, changing nothing, if `budget` did not issue it
   * (`FOREIGN_HANDLE`) or it is already recorded or refunded (`ALREADY_SETTLED`).
   *
   * @param budget - the budget reconciling the reservation.
   * @param refund - the refund channel the budget gives its reservations, when it keeps
   * one: a reservation built elsewhere with the budget as `owner` (a forged one, or a
   * wrapper's) has another, and is refused as foreign.
   */
  claim(budget: object, refund?: TokenRefund): void {
    if (this.owner !== budget || (refund !== undefined && this.cell.refund !== refund)) {
      throw this.foreign();
    }
    const cell = this.cell;
    if (cell.state !== ARMED && cell.state !== DISARMED) {
      throw new BudgetError({
        code: 'ALREADY_SETTLED',
        message: `this token reservation is already ${stateNames[cell.state]}`,
        details: { estimate: this.estimate, state: stateNames[cell.state] },
      });
    }
    unwatchLeak(cell);
    cell.state = RECORDED;
  }

  /**
   * @internal What a scheduler checks of a `recordUsageSync(reservation, prompt, completion)`
   * before it catches up: throws for amounts the budget would refuse, and says whether
   * `budget` can claim `reservation` (else the budget throws for the handle). Changes nothing.
   */
  static recordable(budget: object, reservation: unknown, prompt: unknown, completion: unknown) {
    assertAmount(prompt, 'prompt');
    assertAmount(completion, 'completion');
    assertAmount((prompt as number) + (completion as number), 'prompt + completion');
    return reservation instanceof TokenReservation && reservation.claimableBy(budget);
  }

  /**
   * @internal Whether {@link TokenReservation.claim} by `budget` would pass the owner and state
   * checks now (the refund channel is not checked here); changes nothing.
   */
  claimableBy(budget: object): boolean {
    const state = this.cell.state;
    return this.owner === budget && (state === ARMED || state === DISARMED);
  }

  /**
   * @internal For remote budgets: `budget` applied this reservation's record, and a refund
   * that raced it (through the function `disarm()` returned) arrived after it and did
   * nothing there: the reservation is recorded, even if the refund marked it refunded here.
   *
   * @param budget - the budget that applied the record (else `FOREIGN_HANDLE`, nothing changed).
   */
  recordedAfterAll(budget: object): void {
    if (this.owner !== budget) throw this.foreign();
    unwatchLeak(this.cell);
    this.cell.state = RECORDED;
  }

  private foreign(): BudgetError {
    return new BudgetError({
      code: 'FOREIGN_HANDLE',
      message: 'this token reservation was issued by a different budget',
      details: { estimate: this.estimate },
    });
  }

  /** Refund the estimate if still armed; otherwise nothing. */
  [Symbol.dispose](): void {
    const cell = this.cell;
    if (cell.state !== ARMED) return;
    unwatchLeak(cell);
    reportAsyncFailure(cell.refundOnce(ARMED));
  }

  /** Refund the estimate if still armed, awaiting a remote refund. */
  async [Symbol.asyncDispose](): Promise<void> {
    const cell = this.cell;
    if (cell.state !== ARMED) return;
    unwatchLeak(cell);
    await cell.refundOnce(ARMED);
  }

  /** A readable summary for logs and debuggers. */
  toString(): string {
    return `TokenReservation(estimate=${this.estimate}, ${this.state})`;
  }
}
