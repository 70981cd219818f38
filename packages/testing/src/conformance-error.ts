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
 *   check: 'overlap',
 *   detail: 'available() returned 7; the ledger says 6',
 *   commands: '  1. tryReserve(4)',
 *   commandCount: 1,
 *   trace: '',
 *   shrinkMs: 12,
 *   shrinkLimited: false,
 *   replay: { seed: 1, path: '0', replayPath: 'A' },
 * };
 * console.log(new ConformanceError(options).replayLine);
 * ```
 */
export interface ConformanceErrorOptions {
  /** The invariant that failed. */
  invariant: InvariantId;
  /** The subject, e.g. `guard "AtomicBudget"`. */
  subject: string;
  /** The check within a suite, e.g. `overlap`. */
  check: string;
  /** What was observed against what the ledger says. */
  detail: string;
  /** The commands of the shrunk run that launched calls, numbered, one per line. */
  commands: string;
  /** How many commands the shrunk run launched calls in. */
  commandCount: number;
  /** The scheduler trace, pasteable into `fc.schedulerFor` (empty when no `hop` ran). */
  trace: string;
  /** Time spent shrinking, in milliseconds. */
  shrinkMs: number;
  /** Whether shrinking stopped at `shrinkTimeMs` rather than at a minimal counterexample. */
  shrinkLimited: boolean;
  /**
   * How many times the first failure was run again from the same commands, and how many of
   * those runs failed too. Fewer failures than tries means the failure hangs on timing: it was
   * reported as it ran, unshrunk. Omitted (or `tried` 0) when it was not run again: a replay,
   * a hang, an adapter error.
   */
  replays?: Replays;
  /** Seed, path and replayPath of the shrunk failure. */
  replay: ReplayToken;
  /** The error thrown inside the failing run. */
  cause?: unknown;
}

/**
 * How often the same commands failed again ({@link ConformanceError.replays}).
 *
 * @example
 * ```ts
 * import type { Replays } from '@budgetry/testing';
 * const replays: Replays = { tried: 2, failed: 0 };
 * console.log(replays.failed < replays.tried ? 'hangs on timing' : 'comes back every time');
 * ```
 */
export interface Replays {
  /** Runs of the same commands after the first failure. */
  readonly tried: number;
  /** How many of them failed too. */
  readonly failed: number;
}

const marker = Symbol.for('budgetry.conformance-error');

/**
 * The error every check function throws when an implementation breaks an invariant. Its
 * message names the invariant, says what was observed and what the ledger expected (for
 * overlapping calls: every call's window and the closest order tried), lists the commands of
 * the shrunk run with amounts and handles inline, and ends with one line that replays it.
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
  /** The subject that failed. */
  readonly subject: string;
  /** The check within a suite that failed. */
  readonly check: string;
  /** What was observed against what the ledger says. */
  readonly detail: string;
  /** The commands of the shrunk run, numbered, one per line. */
  readonly commands: string;
  /** How many commands the shrunk run launched calls in. */
  readonly commandCount: number;
  /** The scheduler trace of the shrunk run (empty when no `hop` ran). */
  readonly trace: string;
  /** Time spent shrinking, in milliseconds. */
  readonly shrinkMs: number;
  /**
   * How many times the first failure was run again from the same commands, and how many of
   * those failed too; `failed < tried` means it hangs on timing and was reported unshrunk.
   */
  readonly replays: Replays;
  /** Whether the failure came back on every run of the same commands (or was not run again). */
  readonly reproducible: boolean;
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
    const replays = options.replays ?? { tried: 0, failed: 0 };
    const reproducible = replays.failed >= replays.tried;
    const shrink = reproducible
      ? `shrunk in ${options.shrinkMs} ms${options.shrinkLimited ? ', stopped at the time limit' : ''}`
      : `not shrunk: ${replays.failed} of ${replays.tried} runs of the same commands failed again, so it hangs on timing, and the replay line may pass`;
    super(
      [
        `${options.invariant} violated by ${options.subject} (${options.check}): ${invariantSummaries[options.invariant]}`,
        `  ${options.detail}`,
        `Counterexample (${options.commandCount} command${options.commandCount === 1 ? '' : 's'}, ${shrink}):`,
        options.commands,
        ...(options.trace === '' ? [] : ['Scheduler trace:', indent(options.trace)]),
        `Replay: ${replayLine}`,
      ].join('\n'),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'ConformanceError';
    this.invariant = options.invariant;
    this.subject = options.subject;
    this.check = options.check;
    this.detail = options.detail;
    this.commands = options.commands;
    this.commandCount = options.commandCount;
    this.trace = options.trace;
    this.shrinkMs = options.shrinkMs;
    this.replays = replays;
    this.reproducible = reproducible;
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
