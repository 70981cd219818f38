import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ChildRequest } from './child-protocol.js';
import type { ProcessOutcome } from './process-plan.js';
import type { Progress } from './runner.js';

/** How a child process is started; the defaults are what `pnpm bench` needs. */
export interface ChildOptions {
  /** The script the child runs: `child-main.ts` next to this file unless given. */
  readonly entry?: string;
  /**
   * Node flags of the child: the parent's own unless given. Under `pnpm bench` they are
   * tsx's loader, `--conditions=@budgetry/source` and `--expose-gc`, so every child runs the
   * same source with the same flags as a one-process run.
   */
  readonly execArgv?: readonly string[];
  /** Where the child's stdout and stderr go: the parent's stderr unless given. */
  readonly output?: (chunk: Buffer) => void;
}

/** Bytes of the child's stderr kept to explain a crash. */
const stderrTailBytes = 8192;

/**
 * Runs one child process to completion. Its progress lines go to `progress`, anything it
 * prints goes to `output` (never to the parent's stdout, which carries only the table), and
 * a child that dies before sending its measurements is an outcome, not an exception.
 *
 * @param request - the rows to measure, the settings and the process's own node flags.
 * @param progress - receives the child's progress lines.
 * @param options - entry script, node flags and output; the defaults suit `pnpm bench`.
 * @returns the child's measurements, or the reason it has none (exit code or signal, with
 * the last error line it printed).
 */
export function runChild(
  request: ChildRequest,
  progress: Progress,
  options: ChildOptions = {},
): Promise<ProcessOutcome> {
  const entry = options.entry ?? fileURLToPath(new URL('./child-main.ts', import.meta.url));
  const output = options.output ?? ((chunk: Buffer) => process.stderr.write(chunk));
  return new Promise((resolve) => {
    let outcome: ProcessOutcome | undefined;
    let stderrTail = '';
    const settle = (result: ProcessOutcome): void => {
      outcome ??= result;
      resolve(outcome);
    };
    const child = fork(entry, [JSON.stringify(request)], {
      execArgv: [...(options.execArgv ?? process.execArgv), ...(request.nodeFlags ?? [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Structured clone rather than JSON, so a sample of Infinity survives the trip.
      serialization: 'advanced',
    });
    child.stdout?.on('data', output);
    child.stderr?.on('data', (chunk: Buffer) => {
      output(chunk);
      stderrTail = (stderrTail + chunk.toString()).slice(-stderrTailBytes);
    });
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'progress') progress(message.message);
      else outcome ??= { ok: true, measurements: message.measurements, sink: message.sink };
    });
    child.on('error', (error) => settle({ ok: false, error: error.message }));
    child.on('close', (code, signal) =>
      settle({ ok: false, error: describeExit(code, signal, stderrTail) }),
    );
  });
}

/**
 * Explains why a child ended without sending its measurements.
 *
 * @param code - its exit code, or `null` when a signal ended it.
 * @param signal - the signal, if any.
 * @param stderr - the end of what it printed on stderr.
 * @returns e.g. `exited with code 1: Error: boom`.
 */
export function describeExit(
  code: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
): string {
  const how = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
  const line = lastErrorLine(stderr);
  return line === undefined ? `${how} before reporting` : `${how}: ${line}`;
}

/** The last line that mentions an error and is not a stack frame, e.g. `Error: boom`. */
function lastErrorLine(text: string): string | undefined {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /error/i.test(line) && !line.startsWith('at '))
    .at(-1);
}
