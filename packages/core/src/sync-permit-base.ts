import type { PermitState, SyncBudgetPermit } from './budget-guard.js';

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
  /** Keep the units spent; `false` if the permit was already settled. */
  abstract commitSync(): boolean;

  /** {@inheritDoc SyncBudgetPermitBase.releaseSync} */
  async release(): Promise<boolean> {
    return this.releaseSync();
  }

  /** {@inheritDoc SyncBudgetPermitBase.commitSync} */
  async commit(): Promise<boolean> {
    return this.commitSync();
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
