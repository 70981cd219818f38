export { type BudgetKeys, budgetKeys, escapeName } from './keys.js';
export type {
  FailurePolicy,
  RedisBudgetOptions,
  RedisTokenBudgetOptions,
} from './options.js';
export { type AcquireOptions, RedisBudget, type RedisBudgetSnapshot } from './redis-budget.js';
export { RedisPermit } from './redis-permit.js';
export { RedisTokenBudget, type RedisTokenBudgetSnapshot } from './redis-token-budget.js';
export type { ReclaimReport } from './remote-core.js';
export type { RedisScriptClient } from './script-runner.js';
