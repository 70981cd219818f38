import {
  type BudgetPermit,
  checkUsed,
  type PermitState,
  type SyncBudgetPermit,
  SyncBudgetPermitBase,
  type SyncTokenBudget,
  type TokenBudget,
  type TokenReservation,
} from '@budgetry/core';
import { appliedBefore } from '../internal/earlier-attempt.js';

/**
 * A permit that wraps a token reservation: what {@link tokenGuard} hands out.
 *
 * @example
 * ```ts
 * import { AtomicBudget, AtomicTokenBudget, type TokenBudget } from '@budgetry/core';
 * import { allOf, type TokenPermit } from '@budgetry/compose';
 *
 * const tokens: TokenBudget = new AtomicTokenBudget(10_000); // stands for a remote budget
 * const permit = await allOf({ rows: new AtomicBudget(10), tokens }).tryAcquire(800);
 * const part = permit?.part('tokens') as TokenPermit | undefined;
 * if (part) await tokens.recordUsage(part.reservation, 500, 250); // 50 tokens refunded
 * await permit?.release(); // returns the row; the recorded tokens part stays settled
 * ```
 */
export interface TokenPermit extends BudgetPermit {
  /** The reservation underneath, to reconcile with `recordUsage` on its budget. */
  readonly reservation: TokenReservation;
}

/**
 * A {@link TokenPermit} from a synchronous token budget.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget } from '@budgetry/core';
 * import { type SyncTokenPermit, tokenGuard } from '@budgetry/compose';
 *
 * const tokens = new AtomicTokenBudget(10_000);
 * const permit: SyncTokenPermit | null = tokenGuard(tokens).tryAcquireSync(1_000);
 * if (permit) tokens.recordUsageSync(permit.reservation, 600, 200); // 200 refunded
 * ```
 */
export interface SyncTokenPermit extends TokenPermit, SyncBudgetPermit {}

const stateOf = (r: TokenReservation): PermitState =>
  r.state === 'recorded' ? 'committed' : r.state === 'refunded' ? 'released' : 'held';

/** @internal A permit of a {@link SyncTokenGuard}. */
export class SyncTokenPermitImpl extends SyncBudgetPermitBase implements SyncTokenPermit {
  constructor(
    private readonly tokens: SyncTokenBudget,
    readonly reservation: TokenReservation,
  ) {
    super();
  }
  get cost(): number {
    return this.reservation.estimate;
  }
  get epoch(): number {
    return this.reservation.epoch;
  }
  get state(): PermitState {
    return stateOf(this.reservation);
  }
  releaseSync(): boolean {
    if (!this.reservation.armed) return false;
    this.reservation[Symbol.dispose]();
    return true;
  }
  commitSync(used?: number): boolean {
    const spent = used === undefined ? this.cost : checkUsed(used, this.cost);
    if (!this.reservation.armed) return false;
    this.tokens.recordUsageSync(this.reservation, spent, 0);
    return true;
  }
}

/**
 * @internal A permit of an {@link AsyncTokenGuard}. Its commit may fail after the budget took
 * the refund away from the reservation: a remote budget disarms it before it sends the
 * record, and a record whose answer is lost may or may not have been applied. The permit is
 * then still held, and only the budget can tell, when asked to record the reservation again:
 * a second commit records it (once, as a remote budget records a retry), and a release
 * records nothing used, which returns the estimate.
 */
export class AsyncTokenPermitImpl implements TokenPermit {
  /**
   * Set by the first settle call, before it awaits: a release or commit that starts while
   * another is in flight answers `false` (as a sync permit does), instead of racing it to
   * the budget, where one would refund and the other be refused as already settled.
   */
  private claimed = false;
  /** A commit failed with the reservation disarmed: settling it again goes through a record. */
  private unsure = false;
  /** Set when a release went out as a record of nothing used, after a failed commit. */
  private releasedByRecord = false;
  constructor(
    private readonly tokens: TokenBudget,
    readonly reservation: TokenReservation,
  ) {}
  get cost(): number {
    return this.reservation.estimate;
  }
  get epoch(): number {
    return this.reservation.epoch;
  }
  get state(): PermitState {
    return this.releasedByRecord ? 'released' : stateOf(this.reservation);
  }
  async release(): Promise<boolean> {
    if (this.claimed) return false;
    if (this.unsure) return this.record(0, true);
    if (!this.reservation.armed) return false;
    this.claimed = true;
    try {
      await this.reservation[Symbol.asyncDispose]();
    } catch (error) {
      // The refund did not happen (the reservation is still armed): the permit is still held.
      if (this.reservation.armed) this.claimed = false;
      throw error;
    }
    return true;
  }
  async commit(used?: number): Promise<boolean> {
    const spent = used === undefined ? this.cost : checkUsed(used, this.cost);
    if (this.claimed || !(this.unsure || this.reservation.armed)) return false;
    return this.record(spent, false);
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  private async record(spent: number, releasing: boolean): Promise<boolean> {
    this.claimed = true;
    try {
      await this.tokens.recordUsage(this.reservation, spent, 0);
    } catch (error) {
      // Recorded by the earlier attempt whose answer was lost: settled, but not by this call,
      // which answers `false` as a remote permit's retry does.
      if (appliedBefore(error)) {
        this.unsure = false;
        return false;
      }
      // The budget did not record it (a backend failure): the permit is still held, and
      // after a disarm only a record can settle it.
      const state = this.reservation.state;
      if (state === 'armed' || state === 'disarmed') {
        this.claimed = false;
        this.unsure = state === 'disarmed';
      }
      throw error;
    }
    this.unsure = false;
    this.releasedByRecord = releasing;
    return true;
  }
}
