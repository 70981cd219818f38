export { RedisHierarchyNode, type RedisHierarchySnapshot } from './hierarchy-node.js';
export {
  type BudgetKeys,
  budgetKeys,
  escapeName,
  hierarchyKeys,
  type RedisHierarchyKeys,
} from './keys.js';
export type {
  AcquireOptions,
  FailurePolicy,
  RedisBudgetOptions,
  RedisHierarchyOptions,
  RedisTokenBudgetOptions,
} from './options.js';
export { RedisBudget } from './redis-budget.js';
export { RedisHierarchy, type RedisHierarchyTemplate } from './redis-hierarchy.js';
export { RedisPermit } from './redis-permit.js';
export { RedisTokenBudget, type RedisTokenBudgetSnapshot } from './redis-token-budget.js';
export type { RedisBudgetSnapshot } from './remote-budget.js';
export type { ReclaimReport, RedisCounters } from './remote-core.js';
export type { RedisScriptClient } from './script-runner.js';
