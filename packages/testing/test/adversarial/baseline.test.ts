import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import { expect, it } from 'vitest';
import { checkGuard, checkTokenBudget } from '../../src/index.js';
import { base, measure, report } from './helpers.js';

it('baseline timing: AtomicBudget default options', async () => {
  const o = await measure(
    (seed) =>
      checkGuard(({ capacity }) => new AtomicBudget(capacity, { leakBackstop: false }), {
        ...base(seed),
        capabilities: {
          available: true,
          permits: { partialCommit: false },
          refill: { policy: 'reset' },
        },
      }),
    [1, 2],
  );
  report('AtomicBudget', o);
  expect(o.caught).toBe(0);
}, 120_000);

it('baseline timing: AtomicTokenBudget default options', async () => {
  const o = await measure(
    (seed) =>
      checkTokenBudget(({ capacity }) => new AtomicTokenBudget(capacity, { leakBackstop: false }), {
        ...base(seed),
        capabilities: { available: true, debt: true, refill: { policy: 'reset' } },
      }),
    [1, 2],
  );
  report('AtomicTokenBudget', o);
  expect(o.caught).toBe(0);
}, 120_000);
