/**
 * What a check's command mix leans towards. Every check judges every invariant on every run;
 * the focus only changes which calls are generated most, so a suite can give each area runs
 * of its own and name it in the test title:
 * - `mixed`: everything the capabilities allow (the default for direct calls);
 * - `overlap`: batches of reserves and releases started together, the races behind an `await`;
 * - `long`: histories sixteen times longer (and fewer), each ending in a soak of up to 1 000
 *   reserve-and-give-back cycles, for drift that takes hundreds of grants to show;
 * - `invalid`: invalid amounts at every entry point, between valid calls;
 * - `permits`: permits settled, settled again and settled twice at once;
 * - `refill`: refills while calls are in flight;
 * - `misuse`: token reservations recorded twice, recorded on a foreign budget, disarmed;
 * - `probe`: no reads; conservation probed at rest through the count API (black-box).
 *
 * @example
 * ```ts
 * import type { CheckFocus } from '@budgetry/testing';
 * const focus: CheckFocus = 'overlap';
 * ```
 */
export type CheckFocus =
  | 'mixed'
  | 'overlap'
  | 'long'
  | 'invalid'
  | 'permits'
  | 'refill'
  | 'misuse'
  | 'probe';

/**
 * Options every check function accepts. All are optional.
 *
 * @example
 * ```ts
 * import type { CheckOptions } from '@budgetry/testing';
 * const options: CheckOptions = { numRuns: 500, capacity: 5, maxCommands: 40 };
 * ```
 */
export interface CheckOptions {
  /** Property runs (default 500; `long` runs 20, each sixteen times longer). */
  numRuns?: number;
  /** fast-check seed; with `path` and `replayPath`, replays one run exactly. */
  seed?: number;
  /** fast-check path of the run to replay. */
  path?: string;
  /** `fc.commands` replayPath of the run to replay. */
  replayPath?: string;
  /** Capacity handed to the factory (default 10; 0 is allowed). Small capacities find bugs faster. */
  capacity?: number;
  /** Range of generated costs, estimates and usage (default 0 … capacity + 2). */
  cost?: { readonly min: number; readonly max: number };
  /** Longest generated command sequence (default 30; each command starts up to six calls). */
  maxCommands?: number;
  /** What the command mix leans towards (default `mixed`). */
  focus?: CheckFocus;
  /** A label for the subject in messages and replay tokens. */
  name?: string;
  /** Per-run timeout in milliseconds, so a call that never settles fails instead of hanging (default 5000). */
  timeoutMs?: number;
  /** Time allowed for shrinking a failure, in milliseconds (default 10 000). */
  shrinkTimeMs?: number;
  /**
   * Stop starting new runs after this many milliseconds (default: none). The check still
   * passes with the runs it made; its summary says `interrupted`. `suite()` sets it from its
   * test timeout, so a slow backend gets as many runs as fit.
   */
  timeLimitMs?: number;
  /**
   * Closes what the factory built, after every run (connections, timers). Called with each
   * subject the factory returned for the run (for token budgets, also the foreign one).
   */
  teardown?: (subject: never) => unknown;
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
  focus: CheckFocus;
  timeoutMs: number;
  shrinkTimeMs: number;
  timeLimitMs: number | undefined;
  teardown: ((subject: unknown) => unknown) | undefined;
  replayFromEnv: boolean;
}

const focuses: readonly CheckFocus[] = [
  'mixed',
  'overlap',
  'long',
  'invalid',
  'permits',
  'refill',
  'misuse',
  'probe',
];

/**
 * `long`: few runs, each many times the length of the others, so that a history holds a
 * hundred grants or more (a drift every 100th grant shows), at about the cost of the others;
 * the soak at the end of each (`SOAK_CYCLES`) adds a thousand more.
 */
const LONG_RUNS = 20;
const LONG_TIMES = 16;

function positive(value: number | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be a safe integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/** @internal */
export function resolveOptions(options: CheckOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('check options must be an object');
  }
  const focus = options.focus ?? 'mixed';
  if (!focuses.includes(focus)) {
    throw new RangeError(`focus must be one of ${focuses.join(', ')}, got ${String(focus)}`);
  }
  const capacity = positive(options.capacity, 'capacity', 10, 0);
  const long = focus === 'long';
  const numRuns = positive(options.numRuns, 'numRuns', long ? LONG_RUNS : 500);
  const maxCommands = positive(options.maxCommands, 'maxCommands', 30) * (long ? LONG_TIMES : 1);
  const minCost = positive(options.cost?.min, 'cost.min', 0, 0);
  // Above capacity by two (denials are interesting), but never past the safe-integer range.
  const maxCost = positive(
    options.cost?.max,
    'cost.max',
    Math.min(capacity + 2, Number.MAX_SAFE_INTEGER),
    0,
  );
  if (options.teardown !== undefined && typeof options.teardown !== 'function') {
    throw new TypeError('teardown must be a function');
  }
  if (minCost > maxCost) throw new RangeError(`cost.min ${minCost} exceeds cost.max ${maxCost}`);
  return {
    numRuns,
    seed: options.seed,
    path: options.path,
    replayPath: options.replayPath,
    capacity,
    minCost,
    maxCost,
    maxCommands,
    focus,
    timeoutMs: positive(options.timeoutMs, 'timeoutMs', 5000),
    shrinkTimeMs: positive(options.shrinkTimeMs, 'shrinkTimeMs', 10_000, 0),
    timeLimitMs:
      options.timeLimitMs === undefined
        ? undefined
        : positive(options.timeLimitMs, 'timeLimitMs', 0, 1),
    teardown: options.teardown as ((subject: unknown) => unknown) | undefined,
    replayFromEnv: options.replayFromEnv ?? true,
  };
}
