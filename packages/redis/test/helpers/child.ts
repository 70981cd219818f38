// Runs a TypeScript file of this package in a child process, against the workspace sources.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** Children started by {@link spawnTs} that have not exited yet. */
const running = new Set<ChildProcess>();

/**
 * Starts `node --import tsx <file> ...args` with the `@budgetry/source` condition. The child
 * is killed when the test process exits, and by {@link killChildren}.
 */
export function spawnTs(file: string, args: readonly string[]): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=@budgetry/source', '--import', 'tsx', file, ...args],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  process.once('exit', () => child.kill('SIGKILL'));
  return child;
}

/**
 * Kills every child still running and waits for them to exit: for `afterEach`, so that a
 * test that failed before its children finished (they may wait for a start signal that never
 * comes, polling Redis) does not leave them running into the next tests. Returns how many it
 * killed.
 */
export async function killChildren(): Promise<number> {
  const left = [...running];
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          if (child.exitCode !== null || child.signalCode !== null) resolve();
          else child.kill('SIGKILL');
        }),
    ),
  );
  return left.length;
}

/** Everything the child writes to stdout, once it exits with status 0. */
export function output(child: ChildProcess): Promise<string> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`)),
    );
  });
}

/** The first line the child writes to stdout. */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    child.stdout?.on('data', (d) => {
      out += d;
      const end = out.indexOf('\n');
      if (end >= 0) resolve(out.slice(0, end));
    });
    child.once('exit', (code) => reject(new Error(`child exited ${code} first: ${err}`)));
  });
}
