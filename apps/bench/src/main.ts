import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runChild } from './child-process.js';
import { CliUsageError, parseCliOptions, usage } from './cli-options.js';
import { buildJsonReport } from './json-report.js';
import { machineInfo } from './machine-info.js';
import { formatReport } from './report-text.js';
import type { BenchRow } from './row.js';
import { toRowResults } from './row-result.js';
import { allRows } from './rows/index.js';
import { hasGc } from './rows/memory.js';
import { type IsolatedRun, runIsolated } from './run-isolated.js';
import { defaultSettings, quickSettings, type RunSettings } from './run-settings.js';
import { type Measurement, type Progress, runRows } from './runner.js';
import { selectRows, validateRegistry } from './select-rows.js';
import { sinkTotal } from './sink.js';

/** The process name `--one-process` records on every row. */
const oneProcessName = 'main';

async function main(): Promise<number> {
  let options: ReturnType<typeof parseCliOptions>;
  try {
    options = parseCliOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    console.error(`bench: ${error.message}\n\n${usage}`);
    return 2;
  }
  if (options.help) {
    console.log(usage);
    return 0;
  }
  validateRegistry(allRows);
  const rows = selectRows(allRows, options.filters, options.skips);
  if (rows.length === 0) {
    console.error(
      `bench: no row left by --filter ${options.filters.join(', ')} --skip ${options.skips.join(', ')}`,
    );
    return 2;
  }
  if (rows.some((row) => row.kind === 'memory') && !hasGc()) {
    console.error(
      'bench: the memory rows need global.gc. Run through `pnpm bench` (it passes --expose-gc) or add --expose-gc to node.',
    );
    return 1;
  }
  const settings = options.quick ? quickSettings : defaultSettings;
  const machine = machineInfo();
  const started = performance.now();
  console.error(
    `bench: ${rows.length} rows, ${settings.mode} mode: ${settings.rounds} interleaved rounds of ~${settings.sliceMs} ms per row, ` +
      (options.oneProcess ? 'all in this process' : 'one child process per row group'),
  );
  const progress = (message: string): void => console.error(`bench: ${message}`);
  const run = options.oneProcess
    ? await runInThisProcess(rows, settings, progress)
    : await runIsolated(rows, settings, runChild, progress);
  const report = buildJsonReport({
    machine,
    settings,
    durationMs: performance.now() - started,
    isolation: options.oneProcess ? 'one-process' : 'per-process',
    ...run,
  });
  console.log(`\n${formatReport(report)}`);

  if (options.jsonPath !== undefined) {
    // pnpm runs the script in apps/bench; INIT_CWD is where the user typed the command.
    const path = resolve(process.env['INIT_CWD'] ?? process.cwd(), options.jsonPath);
    writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
    console.error(`bench: wrote ${path}`);
  }
  const failed = run.results.filter((result) => result.error !== null).length;
  // Benchmarks never fail on numbers; only a row that could not run is an error.
  return failed > 0 ? 1 : 0;
}

/** `--one-process`: every row in this process, as one set of interleaved rounds. */
async function runInThisProcess(
  rows: readonly BenchRow[],
  settings: RunSettings,
  progress: Progress,
): Promise<IsolatedRun> {
  const started = performance.now();
  // A row that needs node flags of its own cannot be measured under this process's flags.
  const flagged = (row: BenchRow): boolean => (row.nodeFlags ?? []).length > 0;
  const measured = await runRows(
    rows.filter((row) => !flagged(row)),
    settings,
    progress,
  );
  const byRow = new Map(measured.map((m) => [m.row, m]));
  const all = rows.map(
    (row): Measurement =>
      byRow.get(row) ?? {
        row,
        samples: [],
        error: `measured only in a process started with ${row.nodeFlags!.join(' ')}: run without --one-process`,
      },
  );
  const results = toRowResults(all, oneProcessName);
  const ids = rows.map((row) => row.id);
  const durationMs = performance.now() - started;
  return {
    results,
    processes: [
      { name: oneProcessName, owned: ids, measured: ids, nodeFlags: [], durationMs, error: null },
    ],
    sink: sinkTotal(),
  };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
