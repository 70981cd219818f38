export {
  type CalendarRefillOptions,
  type CalendarUnit,
  calendarRefill,
} from './calendar-refill.js';
export { intervalRefill } from './interval-refill.js';
export { type IntervalOptions, lazyRefill } from './lazy-refill.js';
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
