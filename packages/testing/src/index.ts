export {
  amountArbitrary,
  formatAmount,
  invalidAmountArbitrary,
  invalidAmountSamples,
} from './amount-arbitraries.js';
export {
  type AllOfSubject,
  type AnyOfSubject,
  type CompositeCheckOptions,
  type CompositeContext,
  checkAllOf,
  checkAnyOf,
  checkHierarchy,
  type HierarchySubject,
} from './check-composites.js';
export {
  type CheckReport,
  type ConformanceContext,
  checkGuard,
  type GuardCheckOptions,
  type GuardFactory,
  type GuardSubject,
  guardInvariants,
} from './check-guard.js';
export type { CheckMode, CheckOptions } from './check-options.js';
export {
  checkRefill,
  type RefillCheckOptions,
  type RefillContext,
  type RefillFactory,
  type RefillSubject,
  refillInvariants,
} from './check-refill.js';
export {
  checkTokenBudget,
  type TokenBudgetCheckOptions,
  type TokenBudgetFactory,
  type TokenBudgetSubject,
  tokenBudgetInvariants,
} from './check-token-budget.js';
export { ConformanceError, type ConformanceErrorOptions } from './conformance-error.js';
export { FakeClock } from './fake-clock.js';
export { FaultyMember } from './faulty-member.js';
export { type InvariantId, invariantSummaries } from './invariant-catalog.js';
export { InvariantViolation } from './invariant-violation.js';
export type { ComposedHandle } from './ledger-check.js';
export {
  formatReplayLine,
  parseReplayToken,
  REPLAY_ENV,
  type ReplayToken,
  readReplayToken,
} from './replay.js';
