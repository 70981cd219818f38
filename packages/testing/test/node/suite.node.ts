// suite() under node:test, run by test/node-test.test.ts in a child process. BROKEN=1 plants
// a race, so the run must report failures.
import { describe, test } from 'node:test';
import { AtomicBudget } from '@budgetry/core';
import { suite } from '@budgetry/testing';
import { PlainGuard } from '../outside/plain-guard.js';

const broken = process.env.BROKEN === '1';

suite({
  test,
  describe,
  name: broken ? 'a racy guard under node:test' : 'AtomicBudget under node:test',
  kind: 'guard',
  factory: ({ capacity, policy }) =>
    broken
      ? new PlainGuard(capacity, { bug: 'check-then-act' })
      : new AtomicBudget(capacity, { refillPolicy: policy }),
  capabilities: broken
    ? { available: true, permits: true }
    : { available: true, permits: { partialCommit: true }, refill: { policy: 'reset' } },
  options: { numRuns: 30, shrinkTimeMs: 200 },
});
