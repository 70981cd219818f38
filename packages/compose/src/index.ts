export {
  AllOf,
  type AllOfOptions,
  AllOfPermit,
  type AnyMember,
  allOf,
  type Decision,
  SyncAllOf,
  SyncAllOfPermit,
  type SyncMember,
} from './all-of.js';
export {
  AnyOf,
  type AnyOfDecision,
  type AnyOfOptions,
  type AnyOfPermit,
  type AnyOfStrategy,
  anyOf,
  SyncAnyOf,
  type SyncAnyOfPermit,
} from './any-of.js';
export {
  type CalendarRefillOptions,
  type CalendarUnit,
  calendarRefill,
} from './calendar-refill.js';
export {
  Coordinator,
  coordinator,
  type Dimension,
  Dispatch,
  type DispatchState,
  type RunOptions,
  type RunResult,
  type SettleReport,
  type Usage,
} from './coordinator.js';
export {
  HierarchyNode,
  type HierarchyOptions,
  type HierarchyTemplate,
  hierarchy,
} from './hierarchy.js';
export { intervalRefill } from './interval-refill.js';
export { type IntervalOptions, lazyRefill } from './lazy-refill.js';
export type { KeyOf, MemberKey, Members } from './member-list.js';
export {
  type Refillable,
  type RefillableGuard,
  type RefillableTokenBudget,
  type RefillBudgetSpec,
  RefillingGuard,
  RefillingTokenBudget,
  type RefillListener,
  type RefillSchedulerOptions,
  ScheduledBudget,
} from './refill-engine.js';
export { type RetryHint, retryAfterOf } from './retry-hint.js';
export { SlidingWindow, type SlidingWindowOptions, slidingWindow } from './sliding-window.js';
export { TokenBucket, type TokenBucketOptions, tokenBucket } from './token-bucket.js';
export {
  AsyncTokenGuard,
  SyncTokenGuard,
  type SyncTokenPermit,
  type TokenPermit,
  tokenGuard,
} from './token-guard.js';
export {
  type AcquireOptions,
  WaitingGuard,
  type WaitingOptions,
  waiting,
} from './waiter-queue.js';
