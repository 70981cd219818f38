import Bottleneck from 'bottleneck';
import type { ThroughputRow } from '../row.js';

let limiter = new Bottleneck();
const task = async (): Promise<number> => 1;

/**
 * Bottleneck is a job scheduler: a `reservoir` counts jobs that may still start (the
 * nearest thing to a budget it has) and each scheduled job takes one. Nothing is given back
 * per job, so the reservoir is set high enough never to empty. One op is one awaited
 * `schedule(task)`; Bottleneck arms a timer per job, which is most of its cost.
 */
export const bottleneckRow: ThroughputRow = {
  kind: 'throughput',
  id: 'bottleneck',
  name: 'bottleneck with reservoir: await schedule(task) (a job, not a cost)',
  group: 'peers',
  reference: 'plain-async',
  setup() {
    limiter = new Bottleneck({ reservoir: 1e15, maxConcurrent: 16 });
  },
  async run(iterations) {
    const b = limiter;
    let sum = 0;
    for (let i = 0; i < iterations; i++) sum += await b.schedule(task);
    return sum;
  },
  async teardown() {
    await limiter.stop({ dropWaitingJobs: true });
  },
};
