import type { MachineInfo } from './machine-info.js';
import type { RowResult } from './row-result.js';
import type { ProcessSummary } from './run-isolated.js';
import type { RunSettings } from './run-settings.js';
import type { Summary } from './stats.js';

/**
 * Version of the JSON layout; bump it when a field changes meaning.
 *
 * 2: rows are measured one process per group by default; `ratio` and target values divide by
 * the reference as re-measured in the row's own process, which is not the figure printed on
 * the reference's line. Added `isolation`, `processes` and, per row, `process` and `unit`.
 * Since then, fields only added (no change of meaning): each process's `nodeFlags`.
 */
export const jsonSchemaVersion = 2;

/** How the rows were spread over processes. */
export type Isolation = 'per-process' | 'one-process';

/** One row in the JSON report. */
export interface JsonRow {
  readonly id: string;
  readonly name: string;
  readonly group: string;
  /** The process the row was measured in; its ratio's reference was measured there too. */
  readonly process: string;
  readonly unit: RowResult['unit'];
  /** Throughput rows: ops per second over the rounds; `null` for memory rows. */
  readonly opsPerSec: Summary | null;
  /** Memory rows: retained heap bytes per object; `null` for throughput rows. */
  readonly bytesPerObject: Summary | null;
  readonly rounds: number;
  readonly reference: string | null;
  readonly ratio: number | null;
  readonly targets: ReadonlyArray<{
    readonly label: string;
    readonly against: string | null;
    readonly atLeast: number | null;
    readonly atMost: number | null;
    readonly value: number | null;
    /** `'n/a'` when the figure could not be taken in this run. */
    readonly status: 'met' | 'short' | 'n/a';
  }>;
  /** All targets folded: `short` if any is missed; `null` without targets. */
  readonly status: 'met' | 'short' | 'n/a' | null;
  readonly error: string | null;
}

/** What `--json FILE` writes. */
export interface JsonReport {
  readonly schemaVersion: number;
  readonly machine: MachineInfo;
  readonly settings: RunSettings;
  readonly durationMs: number;
  /** `per-process` by default; `one-process` with `--one-process`. */
  readonly isolation: Isolation;
  /** The processes in the order they ran (a single `main` with `--one-process`). */
  readonly processes: readonly ProcessSummary[];
  /** Sum of every run's result, kept so the measured work is observable. */
  readonly sink: number;
  readonly rows: readonly JsonRow[];
}

/**
 * Builds the machine-readable report from the same results the table shows.
 *
 * @param input - machine, settings, duration, processes, sink total and row results.
 * @returns a plain object ready for `JSON.stringify`.
 */
export function buildJsonReport(input: {
  machine: MachineInfo;
  settings: RunSettings;
  durationMs: number;
  isolation: Isolation;
  processes: readonly ProcessSummary[];
  sink: number;
  results: readonly RowResult[];
}): JsonReport {
  return {
    schemaVersion: jsonSchemaVersion,
    machine: input.machine,
    settings: input.settings,
    durationMs: Math.round(input.durationMs),
    isolation: input.isolation,
    processes: input.processes.map((p) => ({ ...p, durationMs: Math.round(p.durationMs) })),
    sink: Number.isFinite(input.sink) ? input.sink : 0,
    rows: input.results.map(
      (result): JsonRow => ({
        id: result.id,
        name: result.name,
        group: result.group,
        process: result.process,
        unit: result.unit,
        opsPerSec: result.unit === 'ops/s' ? result.summary : null,
        bytesPerObject: result.unit === 'bytes' ? result.summary : null,
        rounds: result.rounds,
        reference: result.reference,
        ratio: result.ratio,
        targets: result.targets.map((target) => ({
          label: target.label,
          against: target.against ?? null,
          atLeast: target.atLeast ?? null,
          atMost: target.atMost ?? null,
          value: target.value,
          status: target.met === null ? 'n/a' : target.met ? 'met' : 'short',
        })),
        status: result.status,
        error: result.error,
      }),
    ),
  };
}

/**
 * Reads a report written by `--json`.
 *
 * @param text - the file's content.
 * @returns the report.
 * @throws Error when the file is not a report of this schema version.
 */
export function parseJsonReport(text: string): JsonReport {
  const value = JSON.parse(text) as Partial<JsonReport> | null;
  if (value?.schemaVersion !== jsonSchemaVersion || !Array.isArray(value.rows)) {
    throw new Error(
      `not a bench report of schema version ${jsonSchemaVersion} (found ${JSON.stringify(value?.schemaVersion)})`,
    );
  }
  return value as JsonReport;
}

/**
 * Turns a report's rows back into the results the table formatter takes, so that a table
 * printed from a JSON file is the table the run printed.
 *
 * @param report - from {@link buildJsonReport} or {@link parseJsonReport}.
 * @returns one result per row, in the report's order.
 */
export function rowResultsFromJson(report: JsonReport): RowResult[] {
  return report.rows.map(
    (row): RowResult => ({
      id: row.id,
      name: row.name,
      group: row.group,
      process: row.process,
      unit: row.unit,
      summary: row.unit === 'bytes' ? row.bytesPerObject : row.opsPerSec,
      rounds: row.rounds,
      reference: row.reference,
      ratio: row.ratio,
      targets: row.targets.map((target) => ({
        label: target.label,
        ...(target.against === null ? {} : { against: target.against }),
        ...(target.atLeast === null ? {} : { atLeast: target.atLeast }),
        ...(target.atMost === null ? {} : { atMost: target.atMost }),
        value: target.value,
        met: target.status === 'n/a' ? null : target.status === 'met',
      })),
      status: row.status,
      error: row.error,
    }),
  );
}
