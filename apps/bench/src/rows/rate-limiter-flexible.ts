import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { ThroughputRow } from '../row.js';

const key = 'bench';
let points = 0;
let limiter = new RateLimiterMemory({ points: 1, duration: 0 });

/**
 * `RateLimiterMemory` with `duration: 0` keeps its points until given back, which makes it a
 * budget: `consume` takes points (rejecting when they run out) and `reward` returns them.
 * Both return Promises, so the reference is the plain async pair.
 */
export const rateLimiterFlexibleRow: ThroughputRow = {
  kind: 'throughput',
  id: 'rlf-memory',
  name: 'rate-limiter-flexible RateLimiterMemory: await consume + await reward',
  group: 'peers',
  reference: 'plain-async',
  setup() {
    points = 1;
    limiter = new RateLimiterMemory({ points: 1_000_000, duration: 0 });
  },
  async run(iterations) {
    const rl = limiter;
    let remaining = 0;
    for (let i = 0; i < iterations; i++) {
      const res = await rl.consume(key, points);
      remaining += res.remainingPoints;
      await rl.reward(key, points);
    }
    return remaining;
  },
};
