export { AtomicBudget } from './budgets/atomic-budget.js';
export type {
  AtomicBudgetOptions,
  AtomicBudgetSnapshot,
  AtomicTokenBudgetOptions,
  AtomicTokenBudgetSnapshot,
} from './budgets/atomic-options.js';
export { AtomicTokenBudget } from './budgets/atomic-token-budget.js';
export { type LeakWatch, unwatchLeak, watchLeak } from './budgets/backstop.js';
export {
  SlidingWindow,
  type SlidingWindowOptions,
  slidingWindow,
} from './budgets/sliding-window.js';
export { checkUsed, SyncBudgetPermitBase } from './budgets/sync-permit-base.js';
export { SyncGuardBase, SyncTokenBudgetBase } from './budgets/sync-twins.js';
export { systemClock } from './budgets/system-clock.js';
export { TokenBucket, type TokenBucketOptions, tokenBucket } from './budgets/token-bucket.js';
export {
  type TokenRefund,
  TokenReservation,
  type TokenReservationInit,
  type TokenReservationState,
} from './budgets/token-reservation.js';
export { SharedHierarchy } from './shared/hierarchy.js';
export type {
  SharedHierarchyEvent,
  SharedHierarchyListener,
} from './shared/hierarchy-events.js';
export { SharedHierarchyNode } from './shared/hierarchy-node.js';
export type {
  SharedHierarchyOpenOptions,
  SharedHierarchyOptions,
  SharedHierarchySnapshot,
  SharedHierarchyTemplate,
} from './shared/hierarchy-options.js';
export type { SharedBudgetDescriptor } from './shared/region.js';
export { SharedBudget } from './shared/shared-budget.js';
export type { ExitingThread } from './shared/shared-leases.js';
export type { SharedBudgetOptions, SharedOpenOptions } from './shared/shared-options.js';
export type { SharedBudgetSnapshot } from './shared/shared-snapshot.js';
export { SharedTokenBudget } from './shared/shared-token-budget.js';
export type {
  SharedTokenBudgetOptions,
  SharedTokenBudgetSnapshot,
} from './shared/shared-token-options.js';
export type { SharedAcquireOptions } from './shared/shared-wait.js';
export { type StripedOpenOptions, StripedSharedBudget } from './shared/striped.js';
export { assertAmount, isAmount } from './spec/amount.js';
export { BudgetError, type BudgetErrorCode, type BudgetErrorOptions } from './spec/budget-error.js';
export type {
  BudgetGuard,
  BudgetPermit,
  PermitBudgetGuard,
  PermitState,
  SyncBudgetGuard,
  SyncBudgetPermit,
} from './spec/budget-guard.js';
export {
  type BudgetCapabilities,
  capabilitiesOf,
  NO_CAPABILITIES,
  type SchedulableCapabilities,
} from './spec/capabilities.js';
export type { CancelTimer, Clock } from './spec/clock.js';
export type { Decision } from './spec/decision.js';
export type { BudgetEvent, BudgetObserver } from './spec/events.js';
export type { CommonBudgetOptions } from './spec/options.js';
export { PermitCode, permitStateOf } from './spec/permit-state.js';
export type { RefillPolicy } from './spec/refill-policy.js';
export { type RetryHint, retryAfterOf } from './spec/retry-hint.js';
export type { SyncTokenBudget, TokenBudget } from './spec/token-budget.js';
