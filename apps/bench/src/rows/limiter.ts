import { RateLimiter } from 'limiter';
import type { ThroughputRow } from '../row.js';

let count = 0;
let limiter = new RateLimiter({ tokensPerInterval: 1, interval: 'second' });

/**
 * limiter's `RateLimiter.tryRemoveTokens` is synchronous but has no way to give tokens back:
 * they return only as time passes. One op is therefore a single `tryRemoveTokens(1)`, half
 * the work of the other rows, which flatters limiter. The rate is set so high that the
 * bucket never runs dry; every call still reads the clock to drip tokens in.
 */
export const limiterRow: ThroughputRow = {
  kind: 'throughput',
  id: 'limiter',
  name: 'limiter RateLimiter.tryRemoveTokens (no release exists)',
  group: 'peers',
  reference: 'plain-sync',
  setup() {
    count = 1;
    limiter = new RateLimiter({ tokensPerInterval: 1e15, interval: 'second' });
  },
  run(iterations) {
    const rl = limiter;
    let removed = 0;
    for (let i = 0; i < iterations; i++) {
      if (rl.tryRemoveTokens(count)) removed++;
    }
    return removed;
  },
};
