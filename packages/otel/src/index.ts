// The public entry of @budgetry/otel: OpenTelemetry metrics and spans for budgets and
// coordinators, threshold alerts (usable without OpenTelemetry), and a shadow mode.
export type { CoordinatorLike } from './coordinator-like.js';
export { shadow } from './shadow.js';
export { shadowCoordinator } from './shadow-coordinator.js';
export type { ShadowEvent, ShadowOptions } from './shadow-state.js';
export {
  BudgetTelemetry,
  type BudgetTelemetryOptions,
  budgetTelemetry,
  type TelemetryLabels,
  type WatchOptions,
} from './telemetry.js';
export { type ThresholdCrossing, type ThresholdOptions, watchThresholds } from './thresholds.js';
export type { ScheduledWatchable, WatchableBudget } from './watchable.js';
