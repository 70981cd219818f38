// Tests only: the command exactly as `pnpm start` runs it, read from package.json, so a test
// of the command is a test of the script the README tells people to run.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
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

/** A started command: the child, its status once it ended, and what it printed so far. */
export interface StartedCommand {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** The exit status, or the signal's name when a signal ended it. */
  readonly exit: Promise<number | string | null>;
  out(): string;
  err(): string;
}

/**
 * Starts the command as `pnpm start` would, in the playground's folder, with stdout and
 * stderr pipes.
 *
 * @param args - the options, as after `pnpm start`.
 * @returns the child, its exit status to come, and readers of its output.
 * @example
 * ```ts
 * import { startCommand } from './spawn-start.js';
 * const run = startCommand(['--seed', '7', '--json']);
 * console.log(await run.exit, run.out().length);
 * ```
 */
export function startCommand(args: readonly string[]): StartedCommand {
  const child = spawn(process.execPath, startArgs(args), {
    cwd: PLAYGROUND,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exit = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal)),
  );
  return { child, exit, out: () => stdout, err: () => stderr };
}
