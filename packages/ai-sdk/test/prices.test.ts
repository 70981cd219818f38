import { BudgetError } from '@budgetry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { microDollars } from '../src/index.js';

describe('microDollars', () => {
  it('prices plain, cached and written input and output separately, in integers', () => {
    const price = { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 };
    // 100 plain × 3 + 600 cached × 0.3 + 300 written × 3.75 + 50 × 15 = 300 + 180 + 1 125 + 750
    expect(
      microDollars(price, { input: 1_000, cachedInput: 600, cacheWrite: 300, output: 50 }),
    ).toBe(2_355);
  });

  it('rounds up, so a budget is never charged less than the provider bills', () => {
    expect(microDollars({ input: 0.15, output: 0.6 }, { input: 1, output: 0 })).toBe(1); // 0.15 µ$
    expect(microDollars({ input: 0.15, output: 0.6 }, { input: 0, output: 0 })).toBe(0);
  });

  it('agrees with exact rational arithmetic on prices with up to six decimals', () => {
    fc.assert(
      fc.property(
        fc.nat(5_000_000),
        fc.nat(5_000_000),
        fc.nat(1_000_000),
        fc.nat(100_000_000),
        (inPrice, outPrice, input, output) => {
          const price = { input: inPrice / 1e6, output: outPrice / 1e6 };
          const exact = BigInt(input) * BigInt(inPrice) + BigInt(output) * BigInt(outPrice);
          const expected = Number((exact + 999_999n) / 1_000_000n);
          expect(microDollars(price, { input, output })).toBe(expected);
        },
      ),
    );
  });

  it.each([
    ['negative input', { input: -1, output: 0 }],
    ['fractional output', { input: 1, output: 0.5 }],
    ['more cached than input', { input: 10, cachedInput: 11, output: 0 }],
    ['cached and written above input', { input: 10, cachedInput: 6, cacheWrite: 6, output: 0 }],
  ])('rejects %s with INVALID_AMOUNT', (_, usage) => {
    expect(() => microDollars({ input: 1, output: 1 }, usage)).toThrow(
      expect.objectContaining({ code: 'INVALID_AMOUNT' }),
    );
  });

  it('rejects a price that is not a non-negative number of dollars', () => {
    for (const bad of [
      { input: -1, output: 1 },
      { input: Number.NaN, output: 1 },
      { input: 1 },
      { input: 1, output: '2' },
    ]) {
      expect(() => microDollars(bad as never, { input: 1, output: 1 })).toThrow(BudgetError);
    }
  });
});
