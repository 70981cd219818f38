/**
 * A performance target from BRIEF.md section 5. With `against`, the row's figure is divided
 * by the figure of the row with that id (measured in the same run) before the bounds are
 * checked; without it, the bounds apply to the row's own median.
 *
 * @example
 * ```ts
 * const target: Target = { label: '≥ 0.5× plain pair', against: 'plain-sync', atLeast: 0.5 };
 * ```
 */
export interface Target {
  /** Printed in the table, e.g. `≥ 0.5× plain-sync`. */
  readonly label: string;
  /** Id of the row the figure is divided by; absent for an absolute bound. */
  readonly against?: string;
  /** The figure (or ratio) must be at least this. */
  readonly atLeast?: number;
  /** The figure (or ratio) must be at most this. */
  readonly atMost?: number;
}

/** Fields every row has, whatever it measures. */
interface RowBase {
  /** Stable key: used by `reference`, `against`, `--filter` and the JSON output. */
  readonly id: string;
  /** What the table prints. */
  readonly name: string;
  /** Rows of one group are printed together, in registry order. */
  readonly group: string;
  /**
   * The child process that measures this row in an isolated run (the default); absent means
   * the row's `group`. Rows of one process share the JIT's type feedback, rows of different
   * processes never do, so set it only to measure a row beside another group's rows on
   * purpose.
   */
  readonly process?: string;
  /**
   * Node flags the row's child process starts with, after the run's own, e.g.
   * `['--max-semi-space-size=128']`. Only an isolated run can honour them: `--one-process`
   * reports the row unmeasured. Every row a process owns gives the same flags, and the rows
   * measured beside them for their ratios run under them too.
   */
  readonly nodeFlags?: readonly string[];
  /** Id of the row this one's ratio is taken against; absent for the references themselves. */
  readonly reference?: string;
  /** One target, several (the async tier has two), or none. */
  readonly target?: Target | readonly Target[];
}

/**
 * What a self-timed row's `run` returns instead of a bare number: the number derived from the
 * work (kept like any row's result) and the time its `iterations` ops took by the row's own
 * clock, which the runner uses in place of the wall time of the call. For rows whose op is one
 * event inside a longer handshake (a cross-thread wake-up between two workers), where the
 * wall time of `run` would mostly time the handshake.
 *
 * @example
 * ```ts
 * // 1 000 wake-ups whose median latency was 0.02 ms: the row's figure is 50 k/s.
 * const timed: SelfTimed = { value: 1_000, ms: 1_000 * 0.02 };
 * ```
 */
export interface SelfTimed {
  readonly value: number;
  /** Milliseconds the run's ops took, a positive finite number. */
  readonly ms: number;
}

/**
 * Measures throughput. One call of `run(iterations)` performs `iterations` ops (one op =
 * reserve + release, or the closest equivalent the library offers) and returns a number
 * derived from the work, which the runner keeps so the JIT cannot drop the loop. The runner
 * times the call, unless `run` returns a {@link SelfTimed} with its own time.
 */
export interface ThroughputRow extends RowBase {
  readonly kind: 'throughput';
  /** Builds the state `run` uses; called once, before calibration. */
  setup?(): void | Promise<void>;
  run(iterations: number): number | SelfTimed | Promise<number | SelfTimed>;
  /** Stops timers or queues the library left behind; called once at the end. */
  teardown?(): void | Promise<void>;
}

/**
 * Measures retained heap per object: `measure()` allocates `count` objects, keeps them
 * reachable and returns heap bytes per object (it needs `global.gc`).
 */
export interface MemoryRow extends RowBase {
  readonly kind: 'memory';
  /** How many objects one measurement allocates. */
  readonly count: number;
  /** Rounds in the default mode, if not the settings' `memoryRounds`. */
  readonly rounds?: number;
  /** Rounds in `--quick` mode, if not the settings' `memoryRounds`. */
  readonly quickRounds?: number;
  measure(): number;
}

/** Anything the runner can measure. */
export type BenchRow = ThroughputRow | MemoryRow;

/** The process a row is measured in by an isolated run: `row.process`, else its group. */
export function processOf(row: BenchRow): string {
  return row.process ?? row.group;
}

/** Normalizes `row.target` to a list. */
export function targetsOf(row: BenchRow): readonly Target[] {
  const { target } = row;
  if (target === undefined) return [];
  return isTargetList(target) ? target : [target];
}

function isTargetList(target: Target | readonly Target[]): target is readonly Target[] {
  return Array.isArray(target);
}
