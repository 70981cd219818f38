// The one reference out of spec: the reservation handle every token budget issues is a class
// (budgets/token-reservation.ts), named here by type only, so nothing of it is loaded.
import type { TokenReservation } from '../budgets/token-reservation.js';

/**
 * Optimistic accounting of LLM tokens (or any spend only known afterwards: dollars, bytes).
 * Reserve an estimate before the call, then reconcile the reservation with the provider's
 * reported usage. Under-use is refunded; overage is owed in full as debt, paid first by
 * later refunds and refills.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget, type TokenBudget } from '@budgetry/core';
 *
 * const tokens: TokenBudget = new AtomicTokenBudget(100_000);
 * const reservation = await tokens.tryReserveTokens(1_200);
 * if (reservation) {
 *   using held = reservation; // refunds the estimate if the call throws
 *   // const result = await callModel(...);
 *   await tokens.recordUsage(held, 900, 250);
 * }
 * ```
 */
export interface TokenBudget {
  /**
   * Reserve `estimate` prompt + completion tokens before a call.
   *
   * @param estimate - a non-negative safe integer.
   * @returns the reservation, or `null` on soft denial.
   */
  tryReserveTokens(estimate: number): Promise<TokenReservation | null>;
  /**
   * Reconcile `reservation` with what the call actually used. Rejects with
   * `FOREIGN_HANDLE` for a reservation this budget did not issue and `ALREADY_SETTLED` for
   * one already recorded or refunded; neither changes anything.
   *
   * @param reservation - the handle from {@link TokenBudget.tryReserveTokens}.
   * @param prompt - prompt tokens reported by the provider.
   * @param completion - completion tokens reported by the provider.
   */
  recordUsage(reservation: TokenReservation, prompt: number, completion: number): Promise<void>;
  /**
   * Total tokens recorded since construction. Never decreases.
   *
   * @returns the sum of every recorded `prompt + completion`.
   */
  tokensConsumed(): Promise<number>;
}

/**
 * An in-process {@link TokenBudget} with synchronous twins of every method.
 *
 * @example
 * ```ts
 * import { AtomicTokenBudget, type SyncTokenBudget } from '@budgetry/core';
 *
 * const tokens: SyncTokenBudget = new AtomicTokenBudget(1_000);
 * const r = tokens.tryReserveTokensSync(100);
 * if (r) tokens.recordUsageSync(r, 60, 20);
 * ```
 */
export interface SyncTokenBudget extends TokenBudget {
  /** Total tokens. */
  readonly capacity: number;
  /** Tokens that can be reserved right now (0 while in debt). */
  available(): number;
  /** Tokens owed: overage not yet paid by refunds or refills. */
  debt(): number;
  /** Synchronous {@link TokenBudget.tryReserveTokens}. */
  tryReserveTokensSync(estimate: number): TokenReservation | null;
  /** Synchronous {@link TokenBudget.recordUsage}. */
  recordUsageSync(reservation: TokenReservation, prompt: number, completion: number): void;
  /** Synchronous {@link TokenBudget.tokensConsumed}. */
  tokensConsumedSync(): number;
}
