import fc from 'fast-check';

/**
 * One value of every class an amount must be rejected for: negative, fractional, NaN,
 * ±Infinity, above 2^53−1, a numeric string, a bigint, `null` and `undefined`.
 *
 * @example
 * ```ts
 * import { invalidAmountSamples } from '@budgetry/testing';
 * console.log(invalidAmountSamples.length); // 10
 * ```
 */
export const invalidAmountSamples: readonly unknown[] = Object.freeze([
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 53,
  '3',
  3n,
  null,
  undefined,
]);

/**
 * Valid amounts (non-negative safe integers) in `[min, max]`, biased towards the bounds.
 *
 * @param min - smallest amount (default 0).
 * @param max - largest amount (default 2^53−1).
 * @returns an arbitrary of amounts.
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { amountArbitrary } from '@budgetry/testing';
 * fc.assert(fc.property(amountArbitrary(0, 12), (cost) => cost >= 0 && cost <= 12));
 * ```
 */
export function amountArbitrary(min = 0, max = Number.MAX_SAFE_INTEGER): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: fc.integer({ min, max }), weight: 4 },
    { arbitrary: fc.constantFrom(min, max), weight: 1 },
  );
}

/**
 * Values that every budgetry entry point must reject as an amount: one of each invalid class
 * and random negatives, fractions and unsafe integers.
 *
 * @returns an arbitrary of invalid amounts (typed `unknown`: some are not numbers at all).
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { isAmount } from '@budgetry/core';
 * import { invalidAmountArbitrary } from '@budgetry/testing';
 * fc.assert(fc.property(invalidAmountArbitrary(), (value) => !isAmount(value)));
 * ```
 */
export function invalidAmountArbitrary(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...invalidAmountSamples), weight: 4 },
    { arbitrary: fc.integer({ max: -1 }), weight: 1 },
    {
      arbitrary: fc
        .double({ min: -1e6, max: 1e6, noNaN: true })
        .filter((value) => !Number.isInteger(value)),
      weight: 1,
    },
    {
      arbitrary: fc.integer({ min: 1, max: 1e6 }).map((n) => Number.MAX_SAFE_INTEGER + n * 2),
      weight: 1,
    },
  );
}

/**
 * A readable rendering of an amount for command labels (`NaN`, `3n`, `"3"`, `undefined`).
 *
 * @param value - any amount, valid or not.
 * @returns the label text.
 *
 * @example
 * ```ts
 * import { formatAmount } from '@budgetry/testing';
 * formatAmount(3n); // '3n'
 * ```
 */
export function formatAmount(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
