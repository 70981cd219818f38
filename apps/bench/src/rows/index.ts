import type { BenchRow } from '../row.js';
import { atomicBudgetRows } from './atomic-budget.js';
import { atomicTokenBudgetRows } from './atomic-token-budget.js';
import { bottleneckRow } from './bottleneck.js';
import { composeAllOfRows } from './compose-all-of.js';
import { composeAllOfShapeRows } from './compose-all-of-shapes.js';
import { composeHierarchyRows } from './compose-hierarchy.js';
import { composeMemoryRows } from './compose-memory.js';
import { composeTenantRows } from './compose-tenants.js';
import { contentionRows } from './contention.js';
import { effectSemaphoreRows } from './effect-semaphore.js';
import { limiterRow } from './limiter.js';
import { memoryRows } from './memory.js';
import { pLimitRow } from './p-limit.js';
import { plainReferenceRows } from './plain-reference.js';
import { rateLimiterFlexibleRow } from './rate-limiter-flexible.js';
import { redisRows } from './redis.js';
import { redisLeasedRows } from './redis-leased.js';
import { sharedMemoryRows } from './shared-memory.js';
import { waitingDepthRows } from './waiting-depth.js';
import { waitingMemoryRows } from './waiting-memory.js';

/**
 * Every row, in table order. To add rows, write a module under `src/rows/` that exports
 * them and list it here; ids must be unique (checked at start-up) and any `reference` or
 * target `against` must name a row in this list.
 */
export const allRows: readonly BenchRow[] = [
  ...plainReferenceRows,
  ...atomicBudgetRows,
  ...atomicTokenBudgetRows,
  ...composeAllOfRows,
  ...composeAllOfShapeRows,
  ...composeHierarchyRows,
  ...composeTenantRows,
  rateLimiterFlexibleRow,
  limiterRow,
  pLimitRow,
  bottleneckRow,
  ...effectSemaphoreRows,
  ...contentionRows,
  ...waitingDepthRows,
  ...sharedMemoryRows,
  ...redisRows,
  ...redisLeasedRows,
  ...memoryRows,
  ...composeMemoryRows,
  ...waitingMemoryRows,
];
