export type { RedisAllOfMember } from './all-of-members.js';
export { RedisAllOfPermit } from './all-of-permit.js';
export { RedisHierarchyNode, type RedisHierarchySnapshot } from './hierarchy-node.js';
export {
  type BudgetKeys,
  budgetKeys,
  escapeName,
  hierarchyKeys,
  type RedisHierarchyKeys,
} from './keys.js';
export type { LeaseShareAlgorithm } from './lease-share.js';
export type { RedisLeasedBudgetOptions } from './leased-options.js';
export type { RedisLeasedBudgetSnapshot, RedisLeasePoolSnapshot } from './leased-snapshots.js';
export type {
  AcquireOptions,
  FailurePolicy,
  RedisBudgetOptions,
  RedisCalendar,
  RedisHierarchyOptions,
  RedisTokenBudgetOptions,
} from './options.js';
export {
  RedisAllOf,
  type RedisAllOfMemberSnapshot,
  type RedisAllOfOptions,
} from './redis-all-of.js';
export { RedisBudget } from './redis-budget.js';
export { RedisHierarchy, type RedisHierarchyTemplate } from './redis-hierarchy.js';
export { RedisLeasedBudget } from './redis-leased-budget.js';
export { RedisPermit } from './redis-permit.js';
export { RedisTokenBudget, type RedisTokenBudgetSnapshot } from './redis-token-budget.js';
export type { RedisBudgetSnapshot } from './remote-budget.js';
export type { ReclaimReport, RedisCounters } from './remote-core.js';
export type { RedisScriptClient } from './script-runner.js';
