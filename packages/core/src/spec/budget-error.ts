/**
 * Every reason a budget operation can fail with an exception rather than a soft denial.
 *
 * - `BACKEND`: the backing store could not service the request (the reference's
 *   `BudgetError::Backend`); `cause` holds the underlying error.
 * - `INVALID_AMOUNT`: a cost, estimate, usage or capacity that is not a non-negative safe
 *   integer (negative, fractional, NaN, ±Infinity, above 2^53−1, or not a number at all).
 * - `INVALID_ARGUMENT`: any other argument that cannot be accepted (an unknown refill policy,
 *   a malformed option, a member given twice).
 * - `FOREIGN_HANDLE`: a reservation handed to a budget that did not issue it.
 * - `ALREADY_SETTLED`: a reservation recorded, released or committed after it was settled.
 * - `OVER_RELEASE`: in strict mode, `release(cost)` returned more than the count API holds.
 * - `ABORTED`: a wait was cancelled through its `AbortSignal`.
 * - `TIMEOUT`: a wait or a remote call ran out of time.
 * - `CLOSED`: the budget or scheduler was closed.
 * - `LEASE_EXPIRED`: a handle's lease ran out (its thread stopped beating, or was reported
 *   gone) and what it held was given back; the handle can no longer be used.
 * - `EXCEEDS_CAPACITY`: a request that can never succeed because it exceeds the capacity.
 *
 * @example
 * ```ts
 * import { BudgetError, type BudgetErrorCode } from '@budgetry/core';
 *
 * function isRetryable(error: unknown): boolean {
 *   const retryable: BudgetErrorCode[] = ['BACKEND', 'TIMEOUT'];
 *   return BudgetError.isInstance(error) && retryable.includes(error.code);
 * }
 * ```
 */
export type BudgetErrorCode =
  | 'BACKEND'
  | 'INVALID_AMOUNT'
  | 'INVALID_ARGUMENT'
  | 'FOREIGN_HANDLE'
  | 'ALREADY_SETTLED'
  | 'OVER_RELEASE'
  | 'ABORTED'
  | 'TIMEOUT'
  | 'CLOSED'
  | 'LEASE_EXPIRED'
  | 'EXCEEDS_CAPACITY';

/**
 * Options accepted by the {@link BudgetError} constructor.
 *
 * @example
 * ```ts
 * import { BudgetError } from '@budgetry/core';
 *
 * const error = new BudgetError({
 *   code: 'BACKEND',
 *   message: 'budget store unreachable',
 *   cause: new Error('ECONNREFUSED'),
 * });
 * ```
 */
export interface BudgetErrorOptions {
  /** Which kind of failure this is. */
  code: BudgetErrorCode;
  /** A human-readable explanation, shown as the error message. */
  message: string;
  /** The underlying error, for `BACKEND` failures and wrapped exceptions. */
  cause?: unknown;
  /** Structured context: the offending value, the parameter name, the member that failed. */
  details?: Readonly<Record<string, unknown>>;
}

const marker = Symbol.for('budgetry.error');

/**
 * The one error class budgetry throws. Soft denial is never an error: `tryReserve` resolves
 * `false` and `tryReserveTokens` resolves `null`. A `BudgetError` means invalid input (and the
 * budget is unchanged) or an infrastructure failure.
 *
 * Use {@link BudgetError.isInstance} rather than `instanceof`: it still works when two copies
 * of `@budgetry/core` are installed.
 *
 * @example
 * ```ts
 * import { AtomicBudget, BudgetError } from '@budgetry/core';
 *
 * const budget = new AtomicBudget(10);
 * try {
 *   budget.tryReserveSync(-1);
 * } catch (error) {
 *   if (BudgetError.isInstance(error) && error.code === 'INVALID_AMOUNT') {
 *     console.log(error.message); // budget unchanged: available() is still 10
 *   }
 * }
 * ```
 */
export class BudgetError extends Error {
  /** Which kind of failure this is; see {@link BudgetErrorCode}. */
  readonly code: BudgetErrorCode;
  /** Structured context for the failure, when there is any. */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** Marks budgetry errors across installed copies; see {@link BudgetError.isInstance}. */
  readonly [marker] = true;

  /**
   * @param options - the code, message and optional cause and details.
   */
  constructor(options: BudgetErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BudgetError';
    this.code = options.code;
    this.details = options.details;
  }

  /**
   * Whether `value` is a `BudgetError` from any installed copy of budgetry.
   *
   * @param value - anything caught.
   * @returns `true` when `value` carries the budgetry error marker.
   */
  static isInstance(value: unknown): value is BudgetError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[marker] === true
    );
  }
}
