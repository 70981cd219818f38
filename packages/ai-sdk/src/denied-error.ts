const marker = Symbol.for('budgetry.ai-sdk.denied');
/** The AI SDK's marker of its `RetryError` (ai@6 and ai@7), read without loading the SDK. */
const retryMarker = Symbol.for('vercel.ai.error.AI_RetryError');

/**
 * Thrown by the budget middleware when a budget denies a model call (and the middleware is
 * not told to wait, or its wait ran out): nothing was sent to the provider and nothing is held.
 * It is not an `APICallError`, so the AI SDK does not retry it; `retryAfterMs` says when a
 * retry could succeed, where the budget's refill schedule knows.
 *
 * A denial of a retry — the AI SDK retrying a call after a 429, say — reaches the caller
 * wrapped in the SDK's `RetryError` (`AI_RetryError`), as its `lastError`. Use
 * {@link BudgetDeniedError.find} on what `generateText` or `streamText` throws: it finds the
 * denial in either, and works when two copies of the package are installed, as
 * {@link BudgetDeniedError.isInstance} (which answers for the error itself only) does.
 *
 * @example
 * ```ts
 * import { BudgetDeniedError } from '@budgetry/ai-sdk';
 *
 * async function withBackoff<T>(call: () => Promise<T>): Promise<T> {
 *   try {
 *     return await call();
 *   } catch (error) {
 *     const denied = BudgetDeniedError.find(error);
 *     if (denied?.retryAfterMs === undefined) throw error;
 *     await new Promise((resolve) => setTimeout(resolve, denied.retryAfterMs));
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

  /**
   * The denial in what a call threw: `error` itself, or the last error of an AI SDK
   * `RetryError` — what the SDK throws when a retry of the call, after a 429 or a 500, is
   * denied. An error of any other kind, or a `RetryError` that ended on something else, has none.
   *
   * @param error - anything caught from `generateText`, `streamText` or a model call.
   * @returns the denial, or `undefined`.
   */
  static find(error: unknown): BudgetDeniedError | undefined {
    if (BudgetDeniedError.isInstance(error)) return error;
    if (typeof error !== 'object' || error === null) return undefined;
    const retry = error as { [retryMarker]?: unknown; lastError?: unknown };
    if (retry[retryMarker] !== true) return undefined;
    return BudgetDeniedError.isInstance(retry.lastError) ? retry.lastError : undefined;
  }
}
