import { assertAmount } from '../spec/amount.js';
import { BudgetError } from '../spec/budget-error.js';
import type { PermitState, SyncBudgetPermit } from '../spec/budget-guard.js';

/**
 * Validates a partial commit's `used` against the permit's `cost`, before anything changes.
 *
 * @param used - units used.
 * @param cost - the units the permit holds.
 * @returns `used`, checked.
 * @throws BudgetError `INVALID_AMOUNT` for a value that is not an amount or exceeds `cost`.
 *
 * @example
 * ```ts
 * import { checkUsed } from '@budgetry/core';
 * checkUsed(3, 5); // 3
 * ```
 */
export function checkUsed(used: unknown, cost: number): number {
  assertAmount(used, 'used');
  if (used > cost) {
    throw new BudgetError({
      code: 'INVALID_AMOUNT',
      message: `used ${used} exceeds the ${cost} units the permit holds`,
      details: { used, cost },
    });
  }
  return used;
}

/**
 * A base for synchronous permits: a subclass provides `cost`, `epoch`, `state`,
 * `releaseSync()` and `commitSync()`; the Promise twins and both dispose methods follow from
 * them, so every permit type settles through the same two methods.
 *
 * @example
 * ```ts
 * import { type PermitState, SyncBudgetPermitBase } from '@budgetry/core';
 *
 * class SlotPermit extends SyncBudgetPermitBase {
 *   state: PermitState = 'held';
 *   readonly cost = 1;
 *   readonly epoch = 0;
 *   releaseSync(): boolean {
 *     if (this.state !== 'held') return false;
 *     this.state = 'released';
 *     return true;
 *   }
 *   commitSync(): boolean {
 *     if (this.state !== 'held') return false;
 *     this.state = 'committed';
 *     return true;
 *   }
 * }
 * {
 *   using slot = new SlotPermit(); // released at the end of the scope
 * }
 * ```
 */
export abstract class SyncBudgetPermitBase implements SyncBudgetPermit {
  /** The units this permit holds. */
  abstract readonly cost: number;
  /** The refill epoch the permit was taken in. */
  abstract readonly epoch: number;
  /** `held`, `released` or `committed`. */
  abstract readonly state: PermitState;
  /** Return the units; `false` if the permit was already settled. */
  abstract releaseSync(): boolean;
  /**
   * Keep `used` units spent (default all) and return the rest; `false` if the permit was
   * already settled. A subclass that cannot commit part of a permit calls
   * {@link SyncBudgetPermitBase.wholeCommit} first.
   */
  abstract commitSync(used?: number): boolean;

  /** Return the units (the asynchronous form of `releaseSync`); `false` if already settled. */
  async release(): Promise<boolean> {
    return this.releaseSync();
  }

  /**
   * Keep `used` units spent (default all) and return the rest (the asynchronous form of
   * `commitSync`); `false` if already settled.
   */
  async commit(used?: number): Promise<boolean> {
    return this.commitSync(used);
  }

  /**
   * For permits that commit all or nothing: throws, changing nothing, unless `used` is
   * absent or the whole cost.
   *
   * @param used - the `used` given to `commitSync`.
   */
  protected wholeCommit(used: number | undefined): void {
    if (used === undefined) return;
    checkUsed(used, this.cost);
    if (used !== this.cost) {
      throw new BudgetError({
        code: 'INVALID_ARGUMENT',
        message: `this permit commits all of its ${this.cost} units or none; it cannot commit ${used}`,
        details: { cost: this.cost, used },
      });
    }
  }

  /** Releases the permit if it is still held. */
  [Symbol.dispose](): void {
    this.releaseSync();
  }

  /** Releases the permit if it is still held. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.releaseSync();
  }
}

/**
 * @internal The handle given out when a leak backstop watches a permit: it forwards to the
 * permit's state, which the registry holds and which must not reference the handle it watches.
 */
export class WatchedPermit extends SyncBudgetPermitBase {
  constructor(private readonly inner: SyncBudgetPermit) {
    super();
  }

  get cost(): number {
    return this.inner.cost;
  }

  get epoch(): number {
    return this.inner.epoch;
  }

  get state(): PermitState {
    return this.inner.state;
  }

  releaseSync(): boolean {
    return this.inner.releaseSync();
  }

  commitSync(used?: number): boolean {
    return this.inner.commitSync(used);
  }
}
