import { BudgetError } from './budget-error.js';

/**
 * Whether `value` is a valid amount: a non-negative safe integer (0 … 2^53−1).
 *
 * @param value - anything.
 * @returns `true` for amounts budgetry accepts.
 *
 * @example
 * ```ts
 * import { isAmount } from '@budgetry/core';
 * isAmount(3); // true
 * isAmount(1.5); // false
 * ```
 */
export function isAmount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * Throws a `BudgetError` with code `INVALID_AMOUNT` unless `value` is a valid amount. Every
 * entry point calls this before it touches state, so a rejected call changes nothing.
 *
 * @param value - the amount to check.
 * @param name - the parameter name, for the message.
 * @returns nothing; narrows `value` to `number`.
 *
 * @example
 * ```ts
 * import { assertAmount } from '@budgetry/core';
 * assertAmount(5, 'cost'); // passes
 * ```
 */
export function assertAmount(value: unknown, name: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw invalidAmount(value, name);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n (a bigint)`;
  if (typeof value === 'string') return `${JSON.stringify(value)} (a string)`;
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  return typeof value;
}

function invalidAmount(value: unknown, name: string): BudgetError {
  return new BudgetError({
    code: 'INVALID_AMOUNT',
    message: `${name} must be a non-negative safe integer (0 … 2^53−1), got ${describe(value)}`,
    details: { name, value },
  });
}
