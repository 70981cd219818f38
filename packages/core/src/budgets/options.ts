import { assertAmount } from '../spec/amount.js';
import { BudgetError } from '../spec/budget-error.js';

/** @internal Validates the options every in-process budget shares. */
export function checkCommonOptions(options: object): void {
  const { observer, name, leakBackstop } = options as Record<string, unknown>;
  if (observer !== undefined && typeof observer !== 'function') {
    throw invalidOption('observer', observer, 'a function');
  }
  if (name !== undefined && typeof name !== 'string') {
    throw invalidOption('name', name, 'a string');
  }
  if (leakBackstop !== undefined && typeof leakBackstop !== 'boolean') {
    throw invalidOption('leakBackstop', leakBackstop, 'a boolean');
  }
}

/** @internal Validates the `strict` option of a budget's count API; absent is `false`. */
export function strictOf(strict: unknown): boolean {
  if (strict !== undefined && typeof strict !== 'boolean') {
    throw invalidOption('strict', strict, 'a boolean');
  }
  return strict ?? false;
}

/** @internal Validates a token budget's `maxDebt`; returns it, `Infinity` when absent. */
export function checkMaxDebt(maxDebt: unknown): number {
  if (maxDebt === undefined || maxDebt === Number.POSITIVE_INFINITY)
    return Number.POSITIVE_INFINITY;
  if (typeof maxDebt !== 'number') throw invalidOption('maxDebt', maxDebt, 'a number');
  assertAmount(maxDebt, 'maxDebt');
  return maxDebt;
}

/** @internal */
export function invalidOption(name: string, value: unknown, expected: string): BudgetError {
  return invalid(`option ${name} must be ${expected}, got ${typeof value}`, { name, value });
}

/** @internal An `INVALID_ARGUMENT` error. */
export function invalid(message: string, details: Record<string, unknown>): BudgetError {
  return new BudgetError({ code: 'INVALID_ARGUMENT', message, details });
}

/** @internal A short description of a bad value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint')
    return `${String(value)} (${typeof value})`;
  return typeof value;
}

/**
 * @internal Refuses a refill that would take the epoch past 2^53 − 1: past it an epoch could
 * no longer be told from the one before, and a reset could not fence what older epochs hold.
 * Only `refill(times)` with a huge `times` gets there (one refill a millisecond takes
 * 285 000 years).
 */
export function checkEpochRoom(epoch: number, times: number): void {
  if (epoch > Number.MAX_SAFE_INTEGER - times) {
    throw invalid(
      `${times === 1 ? 'a refill' : `${times} refills`} would take the epoch past 2^53 − 1 (it is ${epoch}): this budget can begin no more epochs, and nothing changed`,
      { times, epoch },
    );
  }
}

/**
 * @internal Validates the `times` of a batched `refill(times)`, and, given the epoch it would
 * start from, that there is room for them (see {@link checkEpochRoom}).
 */
export function checkTimes(times: unknown, epoch = 0): void {
  if (!Number.isSafeInteger(times) || (times as number) < 1) {
    throw invalid(`refill times must be a positive safe integer, got ${describe(times)}`, {
      times,
    });
  }
  checkEpochRoom(epoch, times as number);
}
