import { performance } from 'node:perf_hooks';
import type { ChildRequest } from './child-protocol.js';
import {
  mergeProcessResults,
  type ProcessOutcome,
  type ProcessPlan,
  planProcesses,
} from './process-plan.js';
import type { BenchRow } from './row.js';
import type { RowResult } from './row-result.js';
import type { RunSettings } from './run-settings.js';
import type { Progress } from './runner.js';

/** Starts one child process and waits for its outcome; `runChild` in production. */
export type ChildRunner = (request: ChildRequest, progress: Progress) => Promise<ProcessOutcome>;

/** One process of a run, as the JSON report records it. */
export interface ProcessSummary {
  readonly name: string;
  /** Rows whose results come from this process. */
  readonly owned: readonly string[];
  /** Rows it measured: the owned ones plus the rows they are compared with. */
  readonly measured: readonly string[];
  /** Node flags it started with after the run's own. */
  readonly nodeFlags: readonly string[];
  /** Wall time, start-up included. */
  readonly durationMs: number;
  /** Why the process produced no figures; `null` when it did. */
  readonly error: string | null;
}

/** What an isolated run produces. */
export interface IsolatedRun {
  /** One result per selected row, in registry order, each from the process that owns it. */
  readonly results: RowResult[];
  /** The processes in the order they ran. */
  readonly processes: ProcessSummary[];
  /** Sum of the children's sink totals. */
  readonly sink: number;
}

/**
 * Measures each process's rows in a child of its own, one child after another in table
 * order (never two at once: they would measure each other), then merges the results.
 *
 * @param rows - the selected rows, in registry order.
 * @param settings - rounds and slice length, passed to every child.
 * @param runChild - starts one child; tests pass a fake.
 * @param progress - receives a line per process and the children's own lines, labelled.
 * @returns merged results, a summary per process and the total sink.
 */
export async function runIsolated(
  rows: readonly BenchRow[],
  settings: RunSettings,
  runChild: ChildRunner,
  progress: Progress = () => {},
): Promise<IsolatedRun> {
  const plans = planProcesses(rows);
  const outcomes: ProcessOutcome[] = [];
  const processes: ProcessSummary[] = [];
  for (const [i, plan] of plans.entries()) {
    const label = `[${i + 1}/${plans.length} ${plan.name}]`;
    progress(`${label} ${describePlan(plan)}`);
    const started = performance.now();
    const outcome = await runSafely(
      runChild,
      { name: plan.name, ids: plan.measured, settings, nodeFlags: plan.nodeFlags },
      (line) => progress(`${label} ${line}`),
    );
    const durationMs = performance.now() - started;
    const error = outcome.ok ? null : outcome.error;
    progress(`${label} ${error === null ? 'done' : `failed: ${error}`} in ${seconds(durationMs)}`);
    outcomes.push(outcome);
    processes.push({ ...plan, durationMs, error });
  }
  const sink = outcomes.reduce((sum, outcome) => sum + (outcome.ok ? outcome.sink : 0), 0);
  return { results: mergeProcessResults(rows, plans, outcomes), processes, sink };
}

/**
 * Says what a process will measure, e.g. `new process: 5 rows, with plain-sync measured
 * alongside for the ratios`.
 */
export function describePlan(plan: ProcessPlan): string {
  const owned = new Set(plan.owned);
  const alongside = plan.measured.filter((id) => !owned.has(id));
  const flags = plan.nodeFlags.length === 0 ? '' : ` (node ${plan.nodeFlags.join(' ')})`;
  const rows = `${plan.owned.length} row${plan.owned.length === 1 ? '' : 's'}${flags}`;
  return alongside.length === 0
    ? `new process: ${rows}`
    : `new process: ${rows}, with ${alongside.join(', ')} measured alongside for the ratios`;
}

/** A runner that throws (it should not) fails its own rows, not the whole run. */
async function runSafely(
  runChild: ChildRunner,
  request: ChildRequest,
  progress: Progress,
): Promise<ProcessOutcome> {
  try {
    return await runChild(request, progress);
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
