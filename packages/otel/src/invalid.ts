import { BudgetError } from '@budgetry/core';

/** @internal An `INVALID_ARGUMENT` error: thrown before anything is subscribed or wrapped. */
export function invalid(message: string, details: Record<string, unknown> = {}): BudgetError {
  return new BudgetError({ code: 'INVALID_ARGUMENT', message, details });
}

/** @internal A short description of a bad value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return typeof value;
}

/** @internal Checks an optional `name` / `tenant` label: a non-empty string. */
export function checkLabel(value: unknown, option: string, required: boolean): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(`option ${option} must be a non-empty string, got ${describe(value)}`, {
      option,
      value,
    });
  }
}

/** @internal Checks that `options` is an object (or absent, when allowed). */
export function checkOptions(options: unknown, what: string): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid(`${what} options must be an object, got ${describe(options)}`, {});
  }
}

/**
 * @internal Checks `acquire` options as a waiting line checks them (an object with an
 * `AbortSignal`, a non-negative safe integer `timeoutMs`, a finite `priority`), so a wrapper
 * that never waits still refuses what waiting would refuse.
 */
export function checkAcquireOptions(options: unknown): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw invalid(`acquire options must be an object, got ${describe(options)}`, {});
  }
  const { signal, timeoutMs, priority = 0 } = options as Record<string, unknown>;
  if (signal !== undefined) {
    const s = signal as Partial<AbortSignal> | null;
    if (typeof s?.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
      throw invalid(`option signal must be an AbortSignal, got ${describe(signal)}`, {});
    }
  }
  if (timeoutMs !== undefined && !(Number.isSafeInteger(timeoutMs) && (timeoutMs as number) >= 0)) {
    throw invalid(`timeoutMs must be a non-negative safe integer, got ${describe(timeoutMs)}`, {
      timeoutMs,
    });
  }
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw invalid(`priority must be a finite number, got ${describe(priority)}`, { priority });
  }
}
