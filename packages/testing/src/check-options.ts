import type { InvariantId } from './invariant-catalog.js';

/**
 * How a check observes the subject:
 * - `white-box`: reads `available()` at every step and checks equalities at quiescence;
 * - `black-box`: never reads `available()`; conservation is probed at quiescence (G4);
 * - `remote`: calls cross a network; issue order is scheduled, equalities are checked only at
 *   quiescence, and a call rejected with code `TIMEOUT` is indeterminate, so bounds replace
 *   equalities (RM1, RM2).
 *
 * @example
 * ```ts
 * import type { CheckMode } from '@budgetry/testing';
 * const mode: CheckMode = 'black-box';
 * ```
 */
export type CheckMode = 'white-box' | 'black-box' | 'remote';

/**
 * Options every check function accepts. All are optional.
 *
 * @example
 * ```ts
 * import type { CheckOptions } from '@budgetry/testing';
 * const options: CheckOptions = { numRuns: 2_000, capacity: 5, maxCommands: 8 };
 * ```
 */
export interface CheckOptions {
  /** Property runs per invariant (default 2000; every run checks every selected invariant). */
  numRuns?: number;
  /** fast-check seed; with `path` and `replayPath`, replays one run exactly. */
  seed?: number;
  /** fast-check path of the run to replay. */
  path?: string;
  /** `fc.commands` replayPath of the run to replay. */
  replayPath?: string;
  /** Capacity handed to the factory (default 10). Small capacities find bugs faster. */
  capacity?: number;
  /** Range of generated costs, estimates and usage (default 0 … capacity + 2). */
  cost?: { readonly min: number; readonly max: number };
  /** Longest generated command sequence (default 10). */
  maxCommands?: number;
  /** How the subject is observed; default `white-box` when it has `available()`. */
  mode?: CheckMode;
  /** Only these invariants (default: all that apply to the subject and mode). */
  invariants?: readonly InvariantId[];
  /** A label for the subject in error messages. */
  name?: string;
  /** Per-run timeout in milliseconds, so a hung call fails instead of hanging (default 5000). */
  timeoutMs?: number;
  /** Read `BUDGETRY_REPLAY` from the environment (default `true`). */
  replayFromEnv?: boolean;
}

/** @internal Options with defaults applied. */
export interface ResolvedOptions {
  numRuns: number;
  seed: number | undefined;
  path: string | undefined;
  replayPath: string | undefined;
  capacity: number;
  minCost: number;
  maxCost: number;
  maxCommands: number;
  timeoutMs: number;
  replayFromEnv: boolean;
}

/** @internal */
export function resolveOptions(options: CheckOptions): ResolvedOptions {
  const capacity = options.capacity ?? 10;
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`capacity must be a positive safe integer, got ${capacity}`);
  }
  return {
    numRuns: options.numRuns ?? 2000,
    seed: options.seed,
    path: options.path,
    replayPath: options.replayPath,
    capacity,
    minCost: options.cost?.min ?? 0,
    maxCost: options.cost?.max ?? capacity + 2,
    maxCommands: options.maxCommands ?? 10,
    timeoutMs: options.timeoutMs ?? 5000,
    replayFromEnv: options.replayFromEnv ?? true,
  };
}
