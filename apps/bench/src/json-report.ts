import type { MachineInfo } from './machine-info.js';
import type { RowResult } from './row-result.js';
import type { RunSettings } from './run-settings.js';
import type { Summary } from './stats.js';

/** Version of the JSON layout; bump it when a field changes meaning. */
export const jsonSchemaVersion = 1;

/** One row in the JSON report. */
export interface JsonRow {
  readonly id: string;
  readonly name: string;
  readonly group: string;
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
  /** Sum of every run's result, kept so the measured work is observable. */
  readonly sink: number;
  readonly rows: readonly JsonRow[];
}

/**
 * Builds the machine-readable report from the same results the table shows.
 *
 * @param input - machine, settings, duration, sink total and row results.
 * @returns a plain object ready for `JSON.stringify`.
 */
export function buildJsonReport(input: {
  machine: MachineInfo;
  settings: RunSettings;
  durationMs: number;
  sink: number;
  results: readonly RowResult[];
}): JsonReport {
  return {
    schemaVersion: jsonSchemaVersion,
    machine: input.machine,
    settings: input.settings,
    durationMs: Math.round(input.durationMs),
    sink: Number.isFinite(input.sink) ? input.sink : 0,
    rows: input.results.map(
      (result): JsonRow => ({
        id: result.id,
        name: result.name,
        group: result.group,
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
