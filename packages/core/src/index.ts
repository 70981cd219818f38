export { assertAmount, isAmount } from './amount.js';
export {
  AtomicBudget,
  type AtomicBudgetOptions,
  type AtomicBudgetSnapshot,
} from './atomic-budget.js';
export {
  AtomicTokenBudget,
  type AtomicTokenBudgetOptions,
  type AtomicTokenBudgetSnapshot,
} from './atomic-token-budget.js';
export { type LeakWatch, unwatchLeak, watchLeak } from './backstop.js';
export { BudgetError, type BudgetErrorCode, type BudgetErrorOptions } from './budget-error.js';
export type {
  BudgetGuard,
  BudgetPermit,
  PermitBudgetGuard,
  PermitState,
  SyncBudgetGuard,
  SyncBudgetPermit,
} from './budget-guard.js';
export { type CancelTimer, type Clock, systemClock } from './clock.js';
export type { BudgetEvent, BudgetObserver } from './observer.js';
export type { CommonBudgetOptions } from './options.js';
export type { RefillPolicy } from './refill-policy.js';
export { checkUsed, SyncBudgetPermitBase } from './sync-permit-base.js';
export type { SyncTokenBudget, TokenBudget } from './token-budget.js';
export {
  type TokenRefund,
  TokenReservation,
  type TokenReservationInit,
  type TokenReservationState,
} from './token-reservation.js';
