// The public entry of @budgetry/compose. Each folder's index lists what it makes public;
// the names are repeated here so the package's surface can be read in one place. Folders
// import one another only through those indexes, and core only through its public entry.
export {
  type Decision,
  type RetryHint,
  retryAfterOf,
  SlidingWindow,
  type SlidingWindowOptions,
  slidingWindow,
  TokenBucket,
  type TokenBucketOptions,
  tokenBucket,
} from '@budgetry/core';
export {
  AllOf,
  type AllOfOptions,
  AllOfPermit,
  allOf,
  SyncAllOf,
  SyncAllOfPermit,
} from './all-of/index.js';
export {
  AnyOf,
  type AnyOfDecision,
  type AnyOfOptions,
  type AnyOfPermit,
  type AnyOfStrategy,
  anyOf,
  SyncAnyOf,
  type SyncAnyOfPermit,
} from './any-of/index.js';
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
} from './coordinator/index.js';
export {
  type HierarchyEvent,
  type HierarchyListener,
  HierarchyNode,
  type HierarchyOptions,
  type HierarchyRoot,
  type HierarchyTemplate,
  hierarchy,
} from './hierarchy/index.js';
export type { AnyMember, KeyOf, MemberKey, Members, SyncMember } from './internal/member-list.js';
export {
  type CalendarRefillOptions,
  type CalendarSchedule,
  type CalendarUnit,
  calendarRefill,
  calendarSchedule,
  type IntervalOptions,
  intervalRefill,
  lazyRefill,
  type Refillable,
  type RefillableGuard,
  type RefillableTokenBudget,
  type RefillBudgetSpec,
  RefillingGuard,
  RefillingTokenBudget,
  type RefillListener,
  type RefillSchedulerOptions,
  ScheduledBudget,
} from './refill/index.js';
export {
  AsyncTokenGuard,
  SyncTokenGuard,
  type SyncTokenPermit,
  type TokenPermit,
  tokenGuard,
} from './token-guard/index.js';
export {
  type AcquireOptions,
  WaitingGuard,
  type WaitingOptions,
  waiting,
} from './waiting/index.js';
