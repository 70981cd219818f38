import { type InvariantId, invariantSummaries } from './invariant-catalog.js';
import { formatReplayLine, type ReplayToken } from './replay.js';

/**
 * What a {@link ConformanceError} is built from.
 *
 * @example
 * ```ts
 * import { ConformanceError, type ConformanceErrorOptions } from '@budgetry/testing';
 * const options: ConformanceErrorOptions = {
 *   invariant: 'G3',
 *   subject: 'guard "MyBudget"',
 *   detail: 'available() returned 7, expected C − H = 6',
 *   commands: 'tryReserve(4)',
 *   commandCount: 1,
 *   trace: '',
 *   replay: { seed: 1, path: '0', replayPath: 'A' },
 * };
 * console.log(new ConformanceError(options).replayLine);
 * ```
 */
export interface ConformanceErrorOptions {
  /** The invariant that failed. */
  invariant: InvariantId;
  /** The check and subject, e.g. `guard "AtomicBudget"`. */
  subject: string;
  /** What was observed against what was expected. */
  detail: string;
  /** The shrunk command sequence, as fast-check prints it. */
  commands: string;
  /** How many commands the shrunk sequence ran. */
  commandCount: number;
  /** The scheduler trace, pasteable into `fc.schedulerFor`. */
  trace: string;
  /** Seed, path and replayPath of the shrunk failure. */
  replay: ReplayToken;
  /** The error thrown inside the failing run. */
  cause?: unknown;
}

const marker = Symbol.for('budgetry.conformance-error');

/**
 * The error every check function throws when an implementation breaks an invariant. Its
 * message names the invariant, shows the shrunk commands and the scheduler trace, and ends
 * with one line that replays the failure exactly.
 *
 * @example
 * ```ts
 * import { checkGuard, ConformanceError } from '@budgetry/testing';
 * import { AtomicBudget } from '@budgetry/core';
 *
 * try {
 *   await checkGuard(({ capacity }) => new AtomicBudget(capacity));
 * } catch (error) {
 *   if (ConformanceError.isInstance(error)) console.log(error.invariant, error.replayLine);
 * }
 * ```
 */
export class ConformanceError extends Error {
  /** The invariant that failed. */
  readonly invariant: InvariantId;
  /** The check and subject that failed. */
  readonly subject: string;
  /** The shrunk command sequence. */
  readonly commands: string;
  /** How many commands the shrunk sequence ran. */
  readonly commandCount: number;
  /** The scheduler trace of the shrunk run. */
  readonly trace: string;
  /** Seed, path and replayPath of the shrunk run. */
  readonly replay: ReplayToken;
  /** `BUDGETRY_REPLAY='…'`: prefix the test command with it to replay the failure. */
  readonly replayLine: string;
  /** Marks conformance errors across installed copies of the kit. */
  readonly [marker] = true;

  /**
   * @param options - invariant, subject, detail, commands, trace and replay token.
   */
  constructor(options: ConformanceErrorOptions) {
    const replayLine = formatReplayLine(options.replay);
    super(
      [
        `${options.invariant} violated by ${options.subject}: ${invariantSummaries[options.invariant]}`,
        `  ${options.detail}`,
        `Counterexample (${options.commandCount} commands): ${options.commands}`,
        'Scheduler trace:',
        indent(options.trace),
        `Replay: ${replayLine}`,
      ].join('\n'),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'ConformanceError';
    this.invariant = options.invariant;
    this.subject = options.subject;
    this.commands = options.commands;
    this.commandCount = options.commandCount;
    this.trace = options.trace;
    this.replay = options.replay;
    this.replayLine = replayLine;
  }

  /**
   * Whether `value` is a `ConformanceError` from any installed copy of the kit.
   *
   * @param value - anything caught.
   * @returns `true` for conformance errors.
   */
  static isInstance(value: unknown): value is ConformanceError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[marker] === true
    );
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
