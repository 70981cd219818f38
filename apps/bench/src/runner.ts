import { performance } from 'node:perf_hooks';
import type { BenchRow, MemoryRow, ThroughputRow } from './row.js';
import type { RunSettings } from './run-settings.js';
import { sink } from './sink.js';

/** The raw figures of one row. */
export interface Measurement {
  readonly row: BenchRow;
  /** ops/s (throughput rows) or bytes per object (memory rows), one per round. */
  readonly samples: number[];
  /** Ops per sample after calibration; absent for memory rows. */
  iterations?: number;
  /** Set when the row threw; its later rounds are skipped. */
  error?: string;
}

/** Told about progress, so a long run shows it is alive. */
export type Progress = (message: string) => void;

/**
 * Measures throughput rows in interleaved rounds, then memory rows. Interleaving means a
 * burst of load from the other users of the machine lands on every row alike instead of
 * on whichever row happened to be running; each round also starts at a different row, so
 * no row always runs right after the same neighbour.
 *
 * @param rows - rows in registry order.
 * @param settings - rounds and slice length.
 * @param progress - receives one line per round.
 * @returns one measurement per row, in the same order.
 */
export async function runRows(
  rows: readonly BenchRow[],
  settings: RunSettings,
  progress: Progress = () => {},
): Promise<Measurement[]> {
  const measurements = rows.map((row): Measurement => ({ row, samples: [] }));
  const throughput = measurements.filter(
    (m): m is Measurement & { row: ThroughputRow } => m.row.kind === 'throughput',
  );
  for (const m of throughput) {
    await guard(m, async () => {
      await m.row.setup?.();
      await prime(m.row, settings.primeMs);
      m.iterations = await calibrate(m.row, settings.sliceMs);
    });
  }
  for (let round = 0; round < settings.warmupRounds; round++) {
    progress(`warm-up ${round + 1}/${settings.warmupRounds}`);
    for (const m of throughput) {
      await guard(m, async () => {
        // Recalibrate on a warm JIT: the first calibration ran mostly unoptimized code.
        const ms = await timeRun(m.row, m.iterations!);
        m.iterations = scaleIterations(m.iterations!, ms, settings.sliceMs);
      });
    }
  }
  for (let round = 0; round < settings.rounds; round++) {
    progress(`round ${round + 1}/${settings.rounds}`);
    for (let k = 0; k < throughput.length; k++) {
      const m = throughput[(k + round) % throughput.length]!;
      await guard(m, async () => {
        const ms = await timeRun(m.row, m.iterations!);
        m.samples.push((m.iterations! * 1000) / ms);
      });
    }
  }
  for (const m of throughput) await guard(m, async () => m.row.teardown?.());
  const memory = measurements.filter(
    (m): m is Measurement & { row: MemoryRow } => m.row.kind === 'memory',
  );
  for (const m of memory) {
    const rounds =
      (settings.mode === 'quick' ? m.row.quickRounds : m.row.rounds) ?? settings.memoryRounds;
    progress(`memory ${m.row.name} (${rounds} rounds)`);
    // One discarded round first: the first allocation of a kind of object also pays for
    // one-off things (code, maps, heap pages) that are not per-object costs.
    for (let round = -1; round < rounds; round++) {
      await guard(m, async () => {
        const bytes = m.row.measure();
        if (round >= 0) m.samples.push(bytes);
      });
    }
  }
  return measurements;
}

/**
 * Calls `run` in small batches, many times, before any long call. V8 compiles a function
 * called often as a whole; a function first seen in one long call gets its loop compiled on the
 * stack instead (on-stack replacement), and later calls may keep entering that code, which
 * starts mid-loop and is optimized less. Which of the two a row ran in used to depend on when
 * the compiler's background thread finished, and moved a row's speed between processes.
 */
async function prime(row: ThroughputRow, primeMs: number): Promise<void> {
  const start = performance.now();
  for (let call = 0; call < PRIME_CALLS && performance.now() - start < primeMs; call++) {
    const result = row.run(PRIME_BATCH);
    const value = typeof result === 'number' ? result : await result;
    sink(typeof value === 'number' ? value : value.value);
  }
}

/** Priming: at most this many calls, of this many ops each (and `primeMs` at most). */
const PRIME_CALLS = 2_000;
const PRIME_BATCH = 64;

/**
 * Finds an iteration count whose run takes about `sliceMs`: grows it geometrically until a
 * run takes a measurable share of the slice, then scales linearly.
 */
async function calibrate(row: ThroughputRow, sliceMs: number): Promise<number> {
  let iterations = 1;
  for (;;) {
    const ms = await timeRun(row, iterations);
    if (ms >= sliceMs / 5 || iterations >= 2 ** 30) {
      return scaleIterations(iterations, ms, sliceMs);
    }
    iterations *= ms < sliceMs / 100 ? 10 : 2;
  }
}

function scaleIterations(iterations: number, ms: number, sliceMs: number): number {
  const scaled = Math.round((iterations * sliceMs) / Math.max(ms, 0.001));
  return Math.min(Math.max(scaled, 1), 2 ** 31);
}

async function timeRun(row: ThroughputRow, iterations: number): Promise<number> {
  // No forced collection between samples: a full gc() makes V8 drop warm state (Effect's
  // runtime measured 5× slower for a while after one), which would bill a harness artefact
  // to whichever row runs next. Garbage one row leaves behind is spread over all rows by
  // the interleaving instead.
  const start = performance.now();
  const result = row.run(iterations);
  const value = typeof result === 'number' ? result : await result;
  const elapsed = performance.now() - start;
  if (typeof value === 'number') {
    sink(value);
    return elapsed;
  }
  // A self-timed row: its own clock, not the wall time of the call (see SelfTimed).
  if (!(Number.isFinite(value.ms) && value.ms > 0)) {
    throw new Error(`row ${row.id} timed its run as ${value.ms} ms; a positive time is needed`);
  }
  sink(value.value);
  return value.ms;
}

async function guard(m: Measurement, step: () => Promise<unknown>): Promise<void> {
  if (m.error !== undefined) return;
  try {
    await step();
  } catch (error) {
    m.error = error instanceof Error ? error.message : String(error);
  }
}
