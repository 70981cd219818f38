// Tests only: the command exactly as `pnpm start` runs it, read from package.json, so a test
// of the command is a test of the script the README tells people to run.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The playground's folder: where `pnpm start` runs its script. */
export const PLAYGROUND = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * The `start` script's argv after `node`, with `args` appended.
 *
 * @param args - the options, as after `pnpm start`.
 * @returns the arguments to give `process.execPath`.
 * @example
 * ```ts
 * import { spawn } from 'node:child_process';
 * import { PLAYGROUND, startArgs } from './spawn-start.js';
 * spawn(process.execPath, startArgs(['--seed', '7']), { cwd: PLAYGROUND });
 * ```
 */
export function startArgs(args: readonly string[]): string[] {
  const pkg = JSON.parse(readFileSync(join(PLAYGROUND, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const [program, ...rest] = pkg.scripts.start.split(' ');
  if (program !== 'node') throw new Error(`the start script should run node, not ${program}`);
  return [...rest, ...args];
}
