import { formatReplayLine, type ReplayToken } from './replay.js';

const marker = Symbol.for('budgetry.adapter-error');

/**
 * Thrown when the subject does not match what its capabilities declare: a declared method is
 * missing or not a function, a call returns a value of the wrong type (`tryReserve` resolving
 * something other than a boolean, a reservation without a numeric `estimate`), or a
 * capability is unknown. It names the member at fault and is never reported as an invariant
 * violation, because the budget's accounting was not what failed.
 *
 * @example
 * ```ts
 * import { AdapterError, checkGuard } from '@budgetry/testing';
 *
 * try {
 *   // `available` is declared but the subject has none.
 *   await checkGuard(() => ({ tryReserve: async () => true, release: async () => {} }), {
 *     capabilities: { available: true },
 *   });
 * } catch (error) {
 *   if (AdapterError.isInstance(error)) console.log(error.member); // 'available'
 * }
 * ```
 */
export class AdapterError extends Error {
  /** The member of the subject (or capability) at fault, when one is to blame. */
  readonly member: string | undefined;
  /** Marks adapter errors across installed copies of the kit. */
  readonly [marker] = true;

  /**
   * @param message - what is wrong and what was expected.
   * @param options - the member at fault and the underlying error.
   */
  constructor(message: string, options: { member?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AdapterError';
    this.member = options.member;
  }

  /**
   * A copy of this error that also shows the commands that led to it and the replay line.
   *
   * @param commands - the numbered commands that ran.
   * @param replay - the failing run's replay token.
   * @returns a new `AdapterError`.
   */
  withCounterexample(commands: string, replay: ReplayToken): AdapterError {
    return new AdapterError(
      `${this.message}\nCommands that ran:\n${commands}\nReplay: ${formatReplayLine(replay)}`,
      {
        ...(this.member === undefined ? {} : { member: this.member }),
        ...(this.cause === undefined ? {} : { cause: this.cause }),
      },
    );
  }

  /**
   * Whether `value` is an `AdapterError` from any installed copy of the kit.
   *
   * @param value - anything caught.
   * @returns `true` for adapter errors.
   */
  static isInstance(value: unknown): value is AdapterError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[marker] === true
    );
  }
}
