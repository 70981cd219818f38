import { type BenchRow, processOf } from './row.js';
import { type RowResult, toRowResults } from './row-result.js';
import type { Measurement } from './runner.js';
import { dependenciesOf } from './select-rows.js';

/**
 * One child process of an isolated run: the rows it owns and everything it measures.
 *
 * @example
 * ```ts
 * // The allOf group owns its five rows and re-measures plain-sync, its reference.
 * const plan: ProcessPlan = {
 *   name: 'budgetry: compose allOf (rows + tokens)',
 *   owned: ['compose-all-of-sync', 'compose-all-of-permit'],
 *   measured: ['plain-sync', 'compose-all-of-sync', 'compose-all-of-permit'],
 * };
 * ```
 */
export interface ProcessPlan {
  /** The rows' `process` (by default their group); also what the JSON report records. */
  readonly name: string;
  /** Rows whose printed results come from this process, in registry order. */
  readonly owned: readonly string[];
  /**
   * The owned rows plus every row they name as `reference` or target `against`, in registry
   * order, so that each ratio divides two rows measured in the same process and rounds.
   */
  readonly measured: readonly string[];
  /** The owned rows' `nodeFlags`, given to the child after the run's own flags. */
  readonly nodeFlags: readonly string[];
}

/** What one row's measurement looks like once it has crossed the process boundary. */
export interface RawMeasurement {
  readonly id: string;
  readonly samples: readonly number[];
  readonly iterations?: number;
  readonly error?: string;
}

/** How one child process ended: its measurements, or why there are none. */
export type ProcessOutcome =
  | {
      readonly ok: true;
      readonly measurements: readonly RawMeasurement[];
      /** The child's sink total, so the parent can print the sum of all work. */
      readonly sink: number;
    }
  | { readonly ok: false; readonly error: string };

/**
 * Splits the selected rows into child processes, one per process name (a row's `process`,
 * else its group), in the order each name first appears in the registry: the table's order.
 *
 * @param rows - the selected rows, in registry order; every id a row depends on that is not
 * among them is left out of `measured` (its ratio prints as `n/a`).
 * @returns one plan per process, in the order the processes run.
 */
export function planProcesses(rows: readonly BenchRow[]): ProcessPlan[] {
  const owners = new Map<string, BenchRow[]>();
  for (const row of rows) {
    const name = processOf(row);
    const owned = owners.get(name);
    if (owned === undefined) owners.set(name, [row]);
    else owned.push(row);
  }
  return [...owners].map(([name, owned]) => {
    const wanted = new Set(owned.flatMap((row) => [row.id, ...dependenciesOf(row)]));
    return {
      name,
      owned: owned.map((row) => row.id),
      measured: rows.filter((row) => wanted.has(row.id)).map((row) => row.id),
      nodeFlags: flagsOf(name, owned),
    };
  });
}

/** The node flags every row of process `name` gives; rows that disagree are a registry bug. */
function flagsOf(name: string, owned: readonly BenchRow[]): readonly string[] {
  const flags = owned[0]?.nodeFlags ?? [];
  for (const row of owned) {
    const own = row.nodeFlags ?? [];
    if (own.length !== flags.length || own.some((flag, i) => flag !== flags[i])) {
      throw new Error(
        `rows of process ${JSON.stringify(name)} give different node flags: ${JSON.stringify(owned[0]?.id)} ${JSON.stringify(flags)}, ${JSON.stringify(row.id)} ${JSON.stringify(own)}`,
      );
    }
  }
  return flags;
}

/**
 * Turns each process's measurements into results and keeps, for every row, the result from
 * the process that owns it. Ratios and targets are computed inside one process's figures
 * only, so a reference re-measured in five children gives five different divisors, each
 * used by its own child's rows; the reference's own line comes from its own process.
 *
 * @param rows - the selected rows, in registry order.
 * @param plans - from {@link planProcesses}.
 * @param outcomes - one per plan, in the same order.
 * @returns one result per row, in registry order; a row whose process failed carries the
 * process's error and no figures.
 */
export function mergeProcessResults(
  rows: readonly BenchRow[],
  plans: readonly ProcessPlan[],
  outcomes: readonly ProcessOutcome[],
): RowResult[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const results = new Map<string, RowResult>();
  plans.forEach((plan, i) => {
    const measurements = plan.measured.map((id) =>
      toMeasurement(byId.get(id)!, plan.name, outcomes[i]),
    );
    const owned = new Set(plan.owned);
    for (const result of toRowResults(measurements, plan.name)) {
      if (owned.has(result.id)) results.set(result.id, result);
    }
  });
  return rows.map((row) => {
    const result = results.get(row.id);
    if (result === undefined) throw new Error(`no process owns row ${JSON.stringify(row.id)}`);
    return result;
  });
}

function toMeasurement(
  row: BenchRow,
  process: string,
  outcome: ProcessOutcome | undefined,
): Measurement {
  if (outcome === undefined) {
    return { row, samples: [], error: `process ${JSON.stringify(process)} did not run` };
  }
  if (!outcome.ok) {
    return { row, samples: [], error: `process ${JSON.stringify(process)}: ${outcome.error}` };
  }
  const raw = outcome.measurements.find((m) => m.id === row.id);
  if (raw === undefined) {
    return { row, samples: [], error: `process ${JSON.stringify(process)} did not measure it` };
  }
  const measurement: Measurement = { row, samples: [...raw.samples] };
  if (raw.iterations !== undefined) measurement.iterations = raw.iterations;
  if (raw.error !== undefined) measurement.error = raw.error;
  return measurement;
}
