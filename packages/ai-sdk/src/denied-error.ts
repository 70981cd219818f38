const marker = Symbol.for('budgetry.ai-sdk.denied');

/**
 * Thrown by the budget middleware when a budget denies a model call (and the middleware is
 * not told to wait, or its wait ran out): nothing was sent to the provider and nothing is held.
 * It is not an `APICallError`, so the AI SDK does not retry it; `retryAfterMs` says when a
 * retry could succeed, where the budget's refill schedule knows.
 *
 * Use {@link BudgetDeniedError.isInstance} rather than `instanceof`: it still works when two
 * copies of the package are installed.
 *
 * @example
 * ```ts
 * import { BudgetDeniedError } from '@budgetry/ai-sdk';
 *
 * async function withBackoff<T>(call: () => Promise<T>): Promise<T> {
 *   try {
 *     return await call();
 *   } catch (error) {
 *     if (!BudgetDeniedError.isInstance(error) || error.retryAfterMs === undefined) throw error;
 *     await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs));
 *     return call();
 *   }
 * }
 * ```
 */
export class BudgetDeniedError extends Error {
  /** The budget (or coordinator dimension) that denied. */
  readonly deniedBy: string;
  /** Milliseconds until a retry could succeed, when the budget's schedule knows. */
  readonly retryAfterMs: number | undefined;
  /** What the call asked for, per dimension (`tokens`, and any others). */
  readonly estimate: Readonly<Record<string, number>>;
  /** Marks these errors across installed copies; see {@link BudgetDeniedError.isInstance}. */
  readonly [marker] = true;

  /**
   * @param options - which budget denied, the retry hint and the estimate.
   */
  constructor(options: {
    readonly deniedBy: string;
    readonly retryAfterMs?: number | undefined;
    readonly estimate: Readonly<Record<string, number>>;
    readonly message?: string;
  }) {
    const hint =
      options.retryAfterMs === undefined ? '' : `; retry in ${Math.ceil(options.retryAfterMs)} ms`;
    super(options.message ?? `model call denied by budget ${options.deniedBy}${hint}`);
    this.name = 'BudgetDeniedError';
    this.deniedBy = options.deniedBy;
    this.retryAfterMs = options.retryAfterMs;
    this.estimate = options.estimate;
  }

  /**
   * Whether `value` is a `BudgetDeniedError` from any installed copy of the package.
   *
   * @param value - anything caught.
   * @returns `true` for a denial.
   */
  static isInstance(value: unknown): value is BudgetDeniedError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[marker] === true
    );
  }
}
