import { BudgetError, type CancelTimer, type SyncBudgetPermit } from '@budgetry/core';
import { describe, invalid } from '../internal/member-list.js';

/**
 * Options for one {@link WaitingGuard.acquire}.
 *
 * @example
 * ```ts
 * import { AtomicBudget } from '@budgetry/core';
 * import { type AcquireOptions, waiting } from '@budgetry/compose';
 *
 * const slots = waiting(new AtomicBudget(4));
 * const controller = new AbortController();
 * const options: AcquireOptions = { signal: controller.signal, timeoutMs: 1_000, priority: 10 };
 * await using slot = await slots.acquire(1, options); // released at the end of the scope
 * ```
 */
export interface AcquireOptions {
  /** Gives up the wait, rejecting with `ABORTED`. */
  signal?: AbortSignal;
  /** Gives up after this many milliseconds, rejecting with `TIMEOUT`. */
  timeoutMs?: number;
  /** Higher is served first; equal priorities are first come, first served (default 0). */
  priority?: number;
}

/** @internal One caller in line. */
export interface Waiter {
  readonly cost: number;
  readonly priority: number;
  readonly seq: number;
  readonly resolve: (permit: SyncBudgetPermit) => void;
  readonly reject: (error: BudgetError) => void;
  cancelTimer: CancelTimer | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Where the line keeps it (set by the line). */
  slot: number;
}

/** @internal The options of one `acquire`, checked; `priority` defaults to 0. */
export function checkAcquireOptions(options: AcquireOptions): {
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
  priority: number;
} {
  if (typeof options !== 'object' || options === null) {
    throw invalid(`acquire options must be an object, got ${describe(options)}`, {});
  }
  const { signal, timeoutMs, priority = 0 } = options;
  checkSignal(signal);
  if (timeoutMs !== undefined && !(Number.isSafeInteger(timeoutMs) && timeoutMs >= 0)) {
    throw invalid(`timeoutMs must be a non-negative safe integer, got ${describe(timeoutMs)}`, {
      timeoutMs,
    });
  }
  if (typeof priority !== 'number' || !Number.isFinite(priority)) {
    throw invalid(`priority must be a finite number, got ${describe(priority)}`, { priority });
  }
  return { signal, timeoutMs, priority };
}

function checkSignal(signal: unknown): void {
  if (signal === undefined) return;
  const s = signal as Partial<AbortSignal> | null;
  if (typeof s?.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
    throw invalid(`option signal must be an AbortSignal, got ${describe(signal)}`, {});
  }
}

/** @internal */
export const abortError = (signal: AbortSignal): BudgetError =>
  new BudgetError({
    code: 'ABORTED',
    message: 'the wait for budget was aborted',
    cause: signal.reason,
  });

/** @internal */
export const timeoutError = (cost: number, timeoutMs: number): BudgetError =>
  new BudgetError({
    code: 'TIMEOUT',
    message: `no budget for ${cost} within ${timeoutMs} ms`,
    details: { cost, timeoutMs },
  });

/** @internal */
export function closedError(): BudgetError {
  return new BudgetError({ code: 'CLOSED', message: 'the waiting line was closed' });
}

/**
 * @internal What a waiter is rejected with when the guard fails while serving it: the
 * guard's own `BudgetError`, or any other exception wrapped as `BACKEND` with it as `cause`.
 */
export function guardFailure(error: unknown): BudgetError {
  if (BudgetError.isInstance(error)) return error;
  return new BudgetError({
    code: 'BACKEND',
    message: `the guard failed: ${error instanceof Error ? error.message : String(error)}`,
    cause: error,
  });
}
