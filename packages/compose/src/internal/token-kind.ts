import type { SyncTokenBudget, TokenBudget } from '@budgetry/core';

/** @internal Whether `value` looks like a synchronous token budget. */
export function isSyncTokenBudget(value: unknown): value is SyncTokenBudget {
  return typeof (value as SyncTokenBudget | null)?.tryReserveTokensSync === 'function';
}

/** @internal Whether `value` looks like a token budget. */
export function isTokenBudget(value: unknown): value is TokenBudget {
  return typeof (value as TokenBudget | null)?.tryReserveTokens === 'function';
}
