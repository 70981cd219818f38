import type { SyncBudgetPermit } from '../spec/budget-guard.js';
import type { TokenReservation } from './token-reservation.js';

/**
 * The base of in-process guards: write the synchronous methods, and the Promise ones follow,
 * each calling its synchronous twin. An `async` method turns a thrown error into a rejected
 * Promise, so a caller of the Promise API never sees a synchronous throw. `P` is the permit
 * type `tryAcquireSync` returns, kept in the Promise twin's type.
 *
 * @example
 * ```ts
 * import { type SyncBudgetPermit, SyncGuardBase } from '@budgetry/core';
 *
 * class Slots extends SyncGuardBase {
 *   readonly capacity = 2;
 *   private used = 0;
 *   available(): number { return this.capacity - this.used; }
 *   tryReserveSync(cost: number): boolean {
 *     if (cost > this.available()) return false;
 *     this.used += cost;
 *     return true;
 *   }
 *   releaseSync(cost: number): void { this.used = Math.max(0, this.used - cost); }
 *   tryAcquireSync(): SyncBudgetPermit | null { return null; }
 * }
 * await new Slots().tryReserve(1); // true
 * ```
 */
export abstract class SyncGuardBase<P extends SyncBudgetPermit = SyncBudgetPermit> {
  abstract tryReserveSync(cost: number): boolean;
  abstract releaseSync(cost: number): void;
  abstract tryAcquireSync(cost: number): P | null;
  /** Promise twin of `tryReserveSync`. */
  async tryReserve(cost: number): Promise<boolean> {
    return this.tryReserveSync(cost);
  }
  /** Promise twin of `releaseSync`. */
  async release(cost: number): Promise<void> {
    this.releaseSync(cost);
  }
  /** Promise twin of `tryAcquireSync`. */
  async tryAcquire(cost: number): Promise<P | null> {
    return this.tryAcquireSync(cost);
  }
}

/**
 * The base of in-process token budgets: write the synchronous methods, and the Promise ones
 * follow (see {@link SyncGuardBase}).
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget, SyncTokenBudgetBase, type TokenReservation } from '@budgetry/core';
 *
 * class Logged extends SyncTokenBudgetBase {
 *   constructor(private readonly inner: AtomicTokenBudget) { super(); }
 *   tryReserveTokensSync(estimate: number) { return this.inner.tryReserveTokensSync(estimate); }
 *   recordUsageSync(r: TokenReservation, prompt: number, completion: number): void {
 *     console.log(`used ${prompt + completion}`);
 *     this.inner.recordUsageSync(r, prompt, completion);
 *   }
 *   tokensConsumedSync(): number { return this.inner.tokensConsumedSync(); }
 * }
 * ```
 */
export abstract class SyncTokenBudgetBase {
  abstract tryReserveTokensSync(estimate: number): TokenReservation | null;
  abstract recordUsageSync(reservation: TokenReservation, prompt: number, completion: number): void;
  abstract tokensConsumedSync(): number;
  /** Promise twin of `tryReserveTokensSync`. */
  async tryReserveTokens(estimate: number): Promise<TokenReservation | null> {
    return this.tryReserveTokensSync(estimate);
  }
  /** Promise twin of `recordUsageSync`. */
  async recordUsage(
    reservation: TokenReservation,
    prompt: number,
    completion: number,
  ): Promise<void> {
    this.recordUsageSync(reservation, prompt, completion);
  }
  /** Promise twin of `tokensConsumedSync`. */
  async tokensConsumed(): Promise<number> {
    return this.tokensConsumedSync();
  }
}
