export {
  type CalendarRefillOptions,
  type CalendarSchedule,
  type CalendarUnit,
  calendarRefill,
  calendarSchedule,
} from './calendar-refill.js';
export { intervalRefill } from './interval-refill.js';
export { type IntervalOptions, lazyRefill } from './lazy-refill.js';
export {
  RefillingGuard,
  RefillingTokenBudget,
  ScheduledBudget,
} from './scheduled-budget.js';
export type { RefillListener, RefillSchedulerOptions } from './scheduler-options.js';
export type {
  Refillable,
  RefillableGuard,
  RefillableTokenBudget,
  RefillBudgetSpec,
} from './targets.js';
