import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CliUsageError, parseCliOptions, usage } from './cli-options.js';
import { formatTable } from './format-table.js';
import { buildJsonReport } from './json-report.js';
import { describeMachine, machineInfo } from './machine-info.js';
import { toRowResults } from './row-result.js';
import { allRows } from './rows/index.js';
import { hasGc } from './rows/memory.js';
import { defaultSettings, quickSettings } from './run-settings.js';
import { runRows } from './runner.js';
import { selectRows, validateRegistry } from './select-rows.js';
import { sinkTotal } from './sink.js';

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
  const rows = selectRows(allRows, options.filters);
  if (rows.length === 0) {
    console.error(`bench: no row matches ${options.filters.join(', ')}`);
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
    `bench: ${rows.length} rows, ${settings.mode} mode: ${settings.rounds} interleaved rounds of ~${settings.sliceMs} ms per row`,
  );
  const measurements = await runRows(rows, settings, (message) =>
    console.error(`bench: ${message}`),
  );
  const durationMs = performance.now() - started;
  const results = toRowResults(measurements);

  console.log(`\n${describeMachine(machine)}`);
  console.log(
    `${settings.mode} run: ${settings.rounds} rounds per throughput row (median, min, max of ops/s), ` +
      `memory rows after them (rounds as listed; ${settings.mode === 'quick' ? '1 M: a single round' : '1 M: 3 rounds'}), ` +
      `took ${(durationMs / 1000).toFixed(1)} s\n`,
  );
  console.log(formatTable(results));
  const short = results.filter((result) => result.status === 'short').length;
  const failed = results.filter((result) => result.error !== null).length;
  console.log(
    `\n${results.filter((r) => r.status === 'met').length} targets met, ${short} short${failed > 0 ? `, ${failed} rows failed` : ''}. ` +
      `Ratios are per-round medians against rows measured in this run. (sink ${sinkTotal() % 1000})`,
  );

  if (options.jsonPath !== undefined) {
    // pnpm runs the script in apps/bench; INIT_CWD is where the user typed the command.
    const path = resolve(process.env['INIT_CWD'] ?? process.cwd(), options.jsonPath);
    const report = buildJsonReport({ machine, settings, durationMs, sink: sinkTotal(), results });
    writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
    console.error(`bench: wrote ${path}`);
  }
  // Benchmarks never fail on numbers; only a row that could not run is an error.
  return failed > 0 ? 1 : 0;
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
