// The public entry of @budgetry/ai-sdk: a budget middleware for the AI SDK's wrapLanguageModel.
export type { BudgetedCall, CallParams } from './call.js';
export { BudgetDeniedError } from './denied-error.js';
export {
  type EstimateOptions,
  estimateTokens,
  type TokenEstimate,
  upperBoundTokens,
} from './estimate.js';
export type { BudgetTarget, CoordinatorTarget, DimensionNames } from './gate.js';
export { type BudgetMiddlewareOptions, budgetMiddleware } from './middleware.js';
export { type ModelPrice, microDollars, type PriceTable, type TokenUsage } from './prices.js';
