// Every budget is checked by the conformance kit against what it declares: the kit's
// capabilities come from the budget's own `capabilities` (partial commit, pool or exact count
// release, refill policy), so a declaration that promises more than the budget does fails.
import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import { checkGuard, declaredGuardCapabilities } from '@budgetry/testing';
import { describe, it } from 'vitest';
import {
  allOf,
  anyOf,
  hierarchy,
  slidingWindow,
  tokenBucket,
  tokenGuard,
  waiting,
} from '../src/index.js';

const numRuns = 60;
const timeout = 60_000;

type Factory = Parameters<typeof checkGuard>[0];

const subjects: [string, Factory][] = [
  ['AtomicBudget (reset)', ({ capacity }) => new AtomicBudget(capacity)],
  ['AtomicBudget (carry)', ({ capacity }) => new AtomicBudget(capacity, { refillPolicy: 'carry' })],
  [
    'tokenBucket, clock still',
    ({ capacity, clock }) => tokenBucket({ burst: capacity, rate: 1, clock }),
  ],
  [
    'slidingWindow, clock still',
    ({ capacity, clock }) => slidingWindow({ limit: capacity, windowMs: 1_000, clock }),
  ],
  [
    'allOf(a, b)',
    ({ capacity }) => allOf([new AtomicBudget(capacity), new AtomicBudget(capacity)]),
  ],
  ['anyOf(a)', ({ capacity }) => anyOf([new AtomicBudget(capacity)])],
  ['waiting(a)', ({ capacity }) => waiting(new AtomicBudget(capacity))],
  ['tokenGuard(AtomicTokenBudget)', ({ capacity }) => tokenGuard(new AtomicTokenBudget(capacity))],
  ['hierarchy root', ({ capacity }) => hierarchy({ capacity, children: { capacity: 1 } })],
  [
    'hierarchy tenant',
    ({ capacity }) => hierarchy({ capacity: capacity * 2, children: { capacity } }).child('t'),
  ],
];

describe('every budget does what it declares', () => {
  for (const [name, factory] of subjects) {
    it(
      name,
      async () => {
        // Declarations do not depend on the capacity: read one from a throwaway instance.
        const { FakeClock } = await import('@budgetry/testing');
        const probe = factory({ capacity: 3, clock: new FakeClock(0) } as Parameters<Factory>[0]);
        await checkGuard(factory, {
          numRuns,
          name,
          capabilities: declaredGuardCapabilities(probe),
        });
      },
      timeout,
    );
  }
});
