export { AdapterError } from './adapter-error.js';
export {
  amountArbitrary,
  formatAmount,
  invalidAmountArbitrary,
  invalidAmountSamples,
} from './amount-arbitraries.js';
export {
  declaredGuardCapabilities,
  type GuardCapabilities,
  type PermitCapabilities,
  type RefillCapability,
  type TokenBudgetCapabilities,
} from './capabilities.js';
export {
  type AllOfSubject,
  type AnyOfSubject,
  type ComposedHandle,
  type CompositeCheckOptions,
  type CompositeContext,
  checkAllOf,
  checkAnyOf,
  checkHierarchy,
  type HierarchySubject,
} from './check-composites.js';
export {
  checkGuard,
  type GuardCheckOptions,
  type GuardFactory,
  type GuardSubject,
  type PermitLike,
} from './check-guard.js';
export type { CheckFocus, CheckOptions } from './check-options.js';
export {
  checkTokenBudget,
  type ReservationLike,
  type TokenBudgetCheckOptions,
  type TokenBudgetFactory,
  type TokenBudgetSubject,
} from './check-token-budget.js';
export {
  ConformanceError,
  type ConformanceErrorOptions,
  type Replays,
} from './conformance-error.js';
export type { CheckSummary } from './engine.js';
export { FakeClock } from './fake-clock.js';
export { FaultyMember } from './faulty-member.js';
export { type InvariantId, invariantSummaries } from './invariant-catalog.js';
export { InvariantViolation } from './invariant-violation.js';
export {
  type AuditEvent,
  Auditor,
  type LedgerConfig,
  type LedgerPolicy,
} from './ledger.js';
export type { ConformanceContext } from './ledger-check.js';
export {
  formatReplayLine,
  parseReplayToken,
  REPLAY_ENV,
  type ReplayToken,
  readReplayToken,
} from './replay.js';
export {
  type GuardSuite,
  type SuiteOptions,
  type SuiteTest,
  suite,
  type TokenBudgetSuite,
} from './suite.js';
