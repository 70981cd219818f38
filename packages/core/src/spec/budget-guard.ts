/**
 * Symmetric reserve/release guard over a finite pool of units: rows parsed, requests sent,
 * queue slots. `tryReserve` resolving `false` is a soft denial (back off, don't throw);
 * a rejection is a `BudgetError` (invalid input or an infrastructure failure).
 *
 * This is the reference's count API: the caller remembers what it reserved. Prefer
 * {@link PermitBudgetGuard.tryAcquire}, whose handle can only be released once and knows
 * which epoch it belongs to.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type BudgetGuard } from '@budgetry/core';
 *
 * const guard: BudgetGuard = new AtomicBudget(1_000);
 * if (await guard.tryReserve(250)) {
 *   try {
 *     // dispatch happens here ...
 *   } finally {
 *     await guard.release(250);
 *   }
 * }
 * ```
 */
export interface BudgetGuard {
  /**
   * Reserve `cost` units for an upcoming operation.
   *
   * @param cost - a non-negative safe integer; 0 is always granted.
   * @returns `true` when reserved, `false` on soft denial.
   */
  tryReserve(cost: number): Promise<boolean>;
  /**
   * Return `cost` previously reserved units to the pool.
   *
   * @param cost - a non-negative safe integer.
   */
  release(cost: number): Promise<void>;
}

/**
 * Where a {@link BudgetPermit} is in its life: `held` until it is released (units return to
 * the pool) or committed (units stay spent until the next refill). Either happens once.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 *
 * const permit = new AtomicBudget(5).tryAcquireSync(2)!;
 * permit.commitSync();
 * console.log(permit.state); // 'committed'
 * ```
 */
export type PermitState = 'held' | 'released' | 'committed';

/**
 * A handle on units reserved from a guard. It is settled exactly once: `release()` returns
 * the units, `commit()` keeps them spent, and disposing a held permit releases it. A second
 * settle is a no-op that resolves `false`, never a second refund.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 *
 * const slots = new AtomicBudget(8);
 * const permit = await slots.tryAcquire(1);
 * if (permit) {
 *   await using held = permit; // released on every exit path
 *   // ... work ...
 * }
 * ```
 */
export interface BudgetPermit extends AsyncDisposable {
  /** The units this permit holds. */
  readonly cost: number;
  /** The refill epoch the permit was taken in. */
  readonly epoch: number;
  /** `held`, `released` or `committed`. */
  readonly state: PermitState;
  /**
   * Return the units to the pool.
   *
   * @returns `true` if this call settled the permit, `false` if it was already settled.
   */
  release(): Promise<boolean>;
  /**
   * Keep the units spent (they come back at the next refill). With `used`, keep only that
   * many spent and return the rest, in the same step, to the epoch the permit was taken in,
   * under that epoch's policy (nothing comes back from an epoch a `reset` fenced off).
   * Budgets that cannot commit part of a permit reject a `used` other than `cost` with
   * `INVALID_ARGUMENT`, changing nothing.
   *
   * @param used - units actually used, `0 ≤ used ≤ cost` (default: all of them).
   * @returns `true` if this call settled the permit, `false` if it was already settled.
   * @throws BudgetError `INVALID_AMOUNT` for a `used` that is not an amount or exceeds `cost`,
   * before anything changes.
   */
  commit(used?: number): Promise<boolean>;
}

/**
 * A {@link BudgetPermit} from an in-process budget, which can also settle synchronously.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 *
 * const slots = new AtomicBudget(4);
 * {
 *   using slot = slots.tryAcquireSync(1);
 *   // ... work while holding the slot ...
 * } // released here
 * ```
 */
export interface SyncBudgetPermit extends BudgetPermit, Disposable {
  /** Synchronous {@link BudgetPermit.release}. */
  releaseSync(): boolean;
  /** Synchronous {@link BudgetPermit.commit}. */
  commitSync(used?: number): boolean;
}

/**
 * A guard that also hands out permits: handles released, committed or disposed exactly once,
 * fenced to the epoch they were taken in.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type PermitBudgetGuard } from '@budgetry/core';
 *
 * const guard: PermitBudgetGuard = new AtomicBudget(10);
 * const permit = await guard.tryAcquire(3);
 * await permit?.commit();
 * ```
 */
export interface PermitBudgetGuard extends BudgetGuard {
  /**
   * Reserve `cost` units and return a handle on them.
   *
   * @param cost - a non-negative safe integer.
   * @returns the permit, or `null` on soft denial.
   */
  tryAcquire(cost: number): Promise<BudgetPermit | null>;
}

/**
 * An in-process guard: the Promise API plus synchronous twins, which are the fast path
 * (a Promise per operation costs roughly 18× the arithmetic it wraps). Combinators stay
 * synchronous when all their members implement this.
 *
 * @example
 * ```ts
 * import { AtomicBudget, type SyncBudgetGuard } from '@budgetry/core';
 *
 * const rows: SyncBudgetGuard = new AtomicBudget(1_000);
 * if (rows.tryReserveSync(10)) rows.releaseSync(10);
 * ```
 */
export interface SyncBudgetGuard extends PermitBudgetGuard {
  /** Total units. */
  readonly capacity: number;
  /** Units that can be reserved right now. */
  available(): number;
  /** Synchronous {@link BudgetGuard.tryReserve}. */
  tryReserveSync(cost: number): boolean;
  /** Synchronous {@link BudgetGuard.release}. */
  releaseSync(cost: number): void;
  /** Synchronous {@link PermitBudgetGuard.tryAcquire}. */
  tryAcquireSync(cost: number): SyncBudgetPermit | null;
  tryAcquire(cost: number): Promise<SyncBudgetPermit | null>;
}
