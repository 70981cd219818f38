import { BudgetError } from '@budgetry/core';

/** @internal An `INVALID_ARGUMENT` error. */
export function invalid(message: string, details: Record<string, unknown> = {}): BudgetError {
  return new BudgetError({ code: 'INVALID_ARGUMENT', message, details });
}

/** @internal A short description of a bad value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  const kind = typeof value === 'object' ? Object.getPrototypeOf(value)?.constructor?.name : '';
  if (typeof kind === 'string' && kind !== '' && kind !== 'Object') return `a ${kind}`;
  return typeof value;
}
