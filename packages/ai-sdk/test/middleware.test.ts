// The middleware on ai@6 (its behaviour through the SDK is in middleware-suite.ts, shared with
// ai@7), and the checks of its options, which need no SDK.
import { coordinator } from '@budgetry/compose';
import { AtomicBudget, AtomicTokenBudget } from '@budgetry/core';
import { describe, expect, it } from 'vitest';
import { budgetMiddleware } from '../src/index.js';
import { hostileSuite } from './hostile-suite.js';
import { middlewareSuite } from './middleware-suite.js';
import { reviewSuite } from './review-suite.js';
import { ai6 } from './sdk-ai6.js';

middlewareSuite(ai6);
hostileSuite(ai6);
reviewSuite(ai6);

describe('budgetMiddleware options', () => {
  it.each([
    ['no budget', {}],
    ['a budget that is not one', { budget: {} }],
    ['an estimate that is not a function', { budget: new AtomicTokenBudget(1), estimate: 5 }],
    [
      'a negative price',
      { budget: new AtomicTokenBudget(1), prices: { m: { input: -1, output: 1 } } },
    ],
    ['usd_micros without prices', { budget: new AtomicTokenBudget(1), counts: 'usd_micros' }],
    ['an unknown onDenied', { budget: new AtomicTokenBudget(1), onDenied: 'queue' }],
    ['a fractional maxWaitMs', { budget: new AtomicTokenBudget(1), maxWaitMs: 1.5 }],
    ['a zero pollMs', { budget: new AtomicTokenBudget(1), pollMs: 0 }],
    [
      'a bad estimate option',
      { budget: new AtomicTokenBudget(1), estimateOptions: { charsPerToken: 0 } },
    ],
    [
      'an unknown dimension key',
      { budget: new AtomicTokenBudget(1), dimensions: { dollars: 'usd' } },
    ],
    [
      'a Map of prices (a plain object is read)',
      {
        budget: new AtomicTokenBudget(1),
        counts: 'usd_micros',
        prices: new Map([['m', { input: 1, output: 1 }]]),
      },
    ],
    [
      "counts 'usd_micros' on a coordinator with no dollar dimension",
      {
        budget: coordinator({ tokens: new AtomicTokenBudget(1) }),
        counts: 'usd_micros',
        prices: { m: { input: 1, output: 1 } },
      },
    ],
    [
      'a coordinator dollar dimension without prices',
      { budget: coordinator({ usd_micros: new AtomicTokenBudget(1) }) },
    ],
    [
      'dimensions on a token budget',
      { budget: new AtomicTokenBudget(1), dimensions: { tokens: 'tpm' } },
    ],
    [
      'a dimension the coordinator does not have',
      {
        budget: coordinator({ tokens: new AtomicTokenBudget(1), requests: new AtomicBudget(1) }),
        dimensions: { tokens: 'tpm' },
      },
    ],
    [
      'a charsPerToken below a token a byte',
      { budget: new AtomicTokenBudget(1), estimateOptions: { charsPerToken: 1e-300 } },
    ],
  ])('rejects %s with INVALID_ARGUMENT', (_, options) => {
    expect(() => budgetMiddleware(options as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
