import { targetsOf } from './row.js';
import type { Measurement } from './runner.js';
import { pairedRatio, type Summary, summarize } from './stats.js';
import { checkTarget, overallStatus, type TargetResult, type TargetStatus } from './target.js';

/** One row's figures, ratios and verdicts: what the table and the JSON report show. */
export interface RowResult {
  readonly id: string;
  readonly name: string;
  readonly group: string;
  /** The process the row was measured in (a process name, or `main` with `--one-process`). */
  readonly process: string;
  readonly unit: 'ops/s' | 'bytes';
  /** `null` when the row failed before its first sample. */
  readonly summary: Summary | null;
  readonly rounds: number;
  readonly reference: string | null;
  /** Row ÷ reference (median of per-round ratios for throughput rows). */
  readonly ratio: number | null;
  readonly targets: readonly TargetResult[];
  readonly status: TargetStatus | null;
  readonly error: string | null;
}

/**
 * Turns raw measurements into results. Ratios and targets only compare rows measured in
 * this run; a reference that was filtered out or failed makes the ratio `null` and the
 * target `n/a`, never a number from elsewhere.
 *
 * @param measurements - every row measured in one process, in the same rounds.
 * @param process - the name of that process, recorded on every result.
 * @returns one result per measurement, in the same order.
 */
export function toRowResults(measurements: readonly Measurement[], process: string): RowResult[] {
  const byId = new Map(measurements.map((m) => [m.row.id, m]));
  const ratioTo = (m: Measurement, id: string | undefined): number | null => {
    if (id === undefined) return null;
    const other = byId.get(id);
    if (other === undefined || other.samples.length === 0) return null;
    return pairedRatio(m.samples, other.samples);
  };
  return measurements.map((m) => {
    const { row } = m;
    const summary = m.samples.length === 0 ? null : summarize(m.samples);
    const targets = targetsOf(row).map((target) =>
      checkTarget(
        target,
        target.against === undefined ? (summary?.median ?? null) : ratioTo(m, target.against),
      ),
    );
    return {
      id: row.id,
      name: row.name,
      group: row.group,
      process,
      unit: row.kind === 'memory' ? 'bytes' : 'ops/s',
      summary,
      rounds: m.samples.length,
      reference: row.reference ?? null,
      ratio: ratioTo(m, row.reference),
      targets,
      status: overallStatus(targets),
      error: m.error ?? null,
    };
  });
}
