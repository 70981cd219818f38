import pLimit, { type LimitFunction } from 'p-limit';
import type { ThroughputRow } from '../row.js';

let limit: LimitFunction = pLimit(1);
const task = (): number => 1;

/**
 * p-limit bounds concurrency, not units: `limit(fn)` takes a slot, runs `fn` and frees the
 * slot when `fn` settles. That is a reserve of one unit and a release around a task, the
 * closest it comes to a budget; it cannot charge a cost other than 1 or deny without
 * queueing. One op is one awaited `limit(task)` with a task that returns at once.
 */
export const pLimitRow: ThroughputRow = {
  kind: 'throughput',
  id: 'p-limit',
  name: 'p-limit: await limit(task) (a slot, not a cost)',
  group: 'peers',
  reference: 'plain-async',
  setup() {
    limit = pLimit(16);
  },
  async run(iterations) {
    const l = limit;
    let sum = 0;
    for (let i = 0; i < iterations; i++) sum += await l(task);
    return sum;
  },
};
