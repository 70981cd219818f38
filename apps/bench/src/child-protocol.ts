import type { RawMeasurement } from './process-plan.js';
import type { BenchRow } from './row.js';
import type { RunSettings } from './run-settings.js';
import type { Measurement } from './runner.js';

/** What the parent asks of one child process; passed as the child's only argument, as JSON. */
export interface ChildRequest {
  /** The process name, for the child's error messages. */
  readonly name: string;
  /** Ids of the rows to measure, in registry order. */
  readonly ids: readonly string[];
  readonly settings: RunSettings;
  /** Node flags the child starts with after the run's own (see `BenchRow.nodeFlags`). */
  readonly nodeFlags?: readonly string[];
}

/** What a child sends over the IPC channel: progress lines, then its measurements once. */
export type ChildMessage =
  | { readonly type: 'progress'; readonly message: string }
  | {
      readonly type: 'done';
      readonly measurements: readonly RawMeasurement[];
      readonly sink: number;
    };

/**
 * Reads the request a child was started with.
 *
 * @param arg - `process.argv[2]` of the child.
 * @returns the request.
 * @throws Error when the argument is missing or not a request.
 */
export function parseChildRequest(arg: string | undefined): ChildRequest {
  if (arg === undefined) throw new Error('no request: the bench harness starts this script');
  const value: unknown = JSON.parse(arg);
  if (!isRequest(value)) throw new Error(`not a bench child request: ${arg}`);
  return value;
}

function isRequest(value: unknown): value is ChildRequest {
  if (typeof value !== 'object' || value === null) return false;
  const { name, ids, settings } = value as Record<string, unknown>;
  return (
    typeof name === 'string' &&
    Array.isArray(ids) &&
    ids.every((id) => typeof id === 'string') &&
    typeof settings === 'object' &&
    settings !== null
  );
}

/**
 * Picks the requested rows from the registry, in the order requested.
 *
 * @param registry - every row the child knows (`allRows`).
 * @param ids - the request's ids.
 * @returns the rows.
 * @throws Error naming the first id the registry lacks.
 */
export function rowsForRequest(registry: readonly BenchRow[], ids: readonly string[]): BenchRow[] {
  const byId = new Map(registry.map((row) => [row.id, row]));
  return ids.map((id) => {
    const row = byId.get(id);
    if (row === undefined) throw new Error(`unknown row ${JSON.stringify(id)}`);
    return row;
  });
}

/**
 * Strips a measurement down to what crosses the process boundary (the row's functions
 * cannot; the parent looks the row up by id).
 *
 * @param m - a measurement from `runRows`.
 * @returns its id, samples and, when set, iterations and error.
 */
export function toRawMeasurement(m: Measurement): RawMeasurement {
  return {
    id: m.row.id,
    samples: m.samples,
    ...(m.iterations === undefined ? {} : { iterations: m.iterations }),
    ...(m.error === undefined ? {} : { error: m.error }),
  };
}
