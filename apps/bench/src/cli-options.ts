/** What the command line asked for. */
export interface CliOptions {
  /** Fewer, shorter rounds: the whole run stays under a minute. */
  readonly quick: boolean;
  /** Where to write machine-readable results, as given (relative paths are resolved later). */
  readonly jsonPath: string | undefined;
  /** Run only rows whose id or name contains one of these (their references come along). */
  readonly filters: readonly string[];
  /** Leave out rows whose id or name contains one of these (unless a row run is compared with them). */
  readonly skips: readonly string[];
  /** Measure every row in this process instead of one child process per group (debugging). */
  readonly oneProcess: boolean;
  readonly help: boolean;
}

/** Thrown for a command line the harness does not understand; the message says why. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** Printed by `--help` and after a usage error. */
export const usage = `Usage: pnpm bench [--quick] [--json FILE] [--filter TEXT]... [--skip TEXT]... [--one-process]

  --quick        fewer and shorter rounds; the 1 M memory row runs once
  --json FILE    also write the results as JSON (relative to the directory you ran from)
  --filter TEXT  only rows whose id or name contains TEXT (repeatable); references are kept
  --skip TEXT    leave out rows whose id or name contains TEXT (repeatable), unless a row
                 that runs is compared with them
  --one-process  measure every row in this process, not one child process per row group
                 (for debugging: rows of different groups then share JIT feedback)
  --help         this text`;

/**
 * Parses the arguments after the script name. `pnpm bench -- --quick` and the root script
 * (`pnpm --filter @budgetry/bench bench --`) hand the script a literal `--`, so bare `--`
 * arguments are skipped rather than ending option parsing.
 *
 * @param argv - `process.argv.slice(2)`.
 * @returns the options.
 * @throws CliUsageError for an unknown option or a missing value.
 * @example
 * ```ts
 * parseCliOptions(['--', '--quick', '--json', 'out.json']).jsonPath; // 'out.json'
 * ```
 */
export function parseCliOptions(argv: readonly string[]): CliOptions {
  let quick = false;
  let oneProcess = false;
  let help = false;
  let jsonPath: string | undefined;
  const filters: string[] = [];
  const skips: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const takeValue = (): string => {
      if (eq !== -1) return requireValue(flag, arg.slice(eq + 1));
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new CliUsageError(`${flag} needs a value`);
      }
      i++;
      return next;
    };
    switch (flag) {
      case '--':
        break;
      case '--quick':
        if (eq !== -1) throw new CliUsageError('--quick takes no value');
        quick = true;
        break;
      case '--one-process':
        if (eq !== -1) throw new CliUsageError('--one-process takes no value');
        oneProcess = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      case '--json':
        jsonPath = takeValue();
        break;
      case '--filter':
        filters.push(takeValue());
        break;
      case '--skip':
        skips.push(takeValue());
        break;
      default:
        throw new CliUsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return { quick, jsonPath, filters, skips, oneProcess, help };
}

function requireValue(flag: string, value: string): string {
  if (value === '') throw new CliUsageError(`${flag} needs a value`);
  return value;
}
