import { formatTable } from './format-table.js';
import { type JsonReport, rowResultsFromJson } from './json-report.js';
import { describeMachine } from './machine-info.js';
import type { RowResult } from './row-result.js';

/**
 * Renders a run for humans: the machine, how the run went, the table and the verdicts. The
 * console prints it after a run and `pnpm bench:readme` puts it in the README, both from the
 * same JSON report, so the two cannot differ in form.
 *
 * @param report - a run's report.
 * @returns Markdown: three paragraphs around the table, no trailing newline.
 */
export function formatReport(report: JsonReport): string {
  const results = rowResultsFromJson(report);
  return [
    describeMachine(report.machine),
    describeRun(report),
    formatTable(results),
    describeVerdicts(results, report.sink),
  ].join('\n\n');
}

/**
 * One line on how the rows were measured, e.g. `quick run: 7 rounds per throughput row
 * (…), one process per row group (11 processes, in table order), took 75.3 s`.
 */
export function describeRun(report: JsonReport): string {
  const { settings } = report;
  const memory = settings.mode === 'quick' ? '1 M: a single round' : '1 M: 3 rounds';
  const processes =
    report.isolation === 'one-process'
      ? 'all rows in one process (--one-process)'
      : `one process per row group (${report.processes.length} processes, in table order)`;
  return (
    `${settings.mode} run: ${settings.rounds} rounds per throughput row (median, min, max of ops/s), ` +
    `memory rows after them (rounds as listed; ${memory}), ${processes}, ` +
    `took ${(report.durationMs / 1000).toFixed(1)} s`
  );
}

/**
 * The line under the table: targets met and short, failed rows, and the sink.
 *
 * @param results - the run's results.
 * @param sink - the run's sink total.
 * @returns e.g. `8 targets met, 2 short. Ratios are … (sink 432)`.
 */
export function describeVerdicts(results: readonly RowResult[], sink: number): string {
  const count = (status: RowResult['status']): number =>
    results.filter((result) => result.status === status).length;
  const failed = results.filter((result) => result.error !== null).length;
  return (
    `${count('met')} targets met, ${count('short')} short${failed > 0 ? `, ${failed} rows failed` : ''}. ` +
    'Ratios are per-round medians against rows measured in the same process and rounds. ' +
    `(sink ${sink % 1000})`
  );
}
