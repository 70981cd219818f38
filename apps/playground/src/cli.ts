import { setTimeout as sleep } from 'node:timers/promises';
import { BudgetError } from '@budgetry/core';
import { BackendUnavailable } from './backend.js';
import { plural } from './format.js';
import type { Fault } from './gateway.js';
import { clip, renderLive } from './live.js';
import { type PlaygroundOptions, parseCommandLine, type WebOptions } from './options.js';
import { refillsIn, renderIntervalLine, renderReport } from './report.js';
import type { RunResult } from './result.js';
import { type PlaygroundServer, ServeError, startServer } from './server.js';
import { Simulation, STEP_MS } from './simulation.js';

/** Where the command writes, and what it knows about its terminal. */
export interface CliIO {
  readonly stdout: {
    write(text: string): unknown;
    readonly isTTY?: boolean;
    /** The terminal's size; 0 or absent when unknown. */
    columns?: number;
    rows?: number;
    /** A write error: EPIPE when the reader of a pipe went away (`… | head`). */
    on?(event: 'error', listener: (error: Error) => void): unknown;
    removeListener?(event: 'error', listener: (error: Error) => void): unknown;
  };
  readonly stderr: { write(text: string): unknown };
  /** Waits between frames of the live view (tests pass a function that does not wait). */
  readonly sleep?: (ms: number) => Promise<unknown>;
}

/** Exit statuses. */
export const EXIT = { held: 0, broken: 1, usage: 2, interrupted: 130 } as const;

/** Signals that stop a run in the terminal, and the status each ends it with (128 + n). */
const STOPPING = { SIGINT: 130, SIGTERM: 143 } as const;
/** The status when stdout's reader went away (128 + SIGPIPE), as a shell reports `yes | head`. */
const CLOSED_PIPE = 141;

/** Wall time between frames of the live view. */
const FRAME_MS = 200;
/** Simulated steps per frame: one simulated minute takes about a second of wall time. */
const STEPS_PER_FRAME = Math.round(((60_000 / STEP_MS) * FRAME_MS) / 1_000);

/**
 * Runs the playground as the command line asks.
 *
 * @param argv - the arguments after the script.
 * @param io - output streams.
 * @param inject - a fault to inject (tests only; no option reaches it).
 * @returns the exit status: 0 when conservation held, 1 when it broke, 2 for bad usage.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIO,
  inject: { fault?: Fault } = {},
): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (parsed.kind === 'help') {
    io.stdout.write(parsed.text);
    return EXIT.held;
  }
  if (parsed.kind === 'error') return fail(io, parsed.message);
  const options = parsed.options;
  if (options.web !== undefined) return serve(options, options.web, io);
  const { tenants, minutes, seed, backend, redisUrl, otel, aiSdk } = options;
  let sim: Simulation;
  try {
    sim = await Simulation.open({
      ...{ tenants, minutes, seed, backend, redisUrl, otel, aiSdk },
      ...inject,
    });
  } catch (error) {
    if (error instanceof BackendUnavailable) return fail(io, error.message);
    throw error;
  }
  // Ctrl-C, SIGTERM, or stdout's reader gone: the backend is closed first (a Redis run deletes
  // its keys), then the process ends; `runLive`'s exit hook puts the cursor back.
  let interrupted = false;
  const stop = (status: number, why: string | undefined) => {
    if (interrupted) return;
    interrupted = true;
    if (why !== undefined) {
      const s = sim.snapshot();
      io.stderr.write(
        `\nbudgetry playground: ${why} at ${s.clock} (minute ${s.minute} of ${s.minutes}), before the verdict\n`,
      );
    }
    sim.close().finally(() => process.exit(status));
  };
  const onSignal = (signal: keyof typeof STOPPING) =>
    stop(STOPPING[signal], `stopped by ${signal}`);
  const onWriteError = (error: Error) => {
    if ((error as { code?: unknown }).code === 'EPIPE') stop(CLOSED_PIPE, undefined);
    else stop(EXIT.usage, `cannot write the output: ${error.message}`);
  };
  for (const signal of Object.keys(STOPPING)) process.once(signal, onSignal);
  io.stdout.on?.('error', onWriteError);
  try {
    if (options.json) {
      while (!sim.done) if ((await sim.step()) !== undefined) await breathe();
      const result = await sim.finish();
      io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return statusOf(result);
    }
    const live = io.stdout.isTTY === true && !options.plain;
    if (live) await runLive(sim, io);
    else await runPlain(sim, io, options);
    const result = await sim.finish();
    io.stdout.write(`${renderReport(result, live).join('\n')}\n`);
    return statusOf(result);
  } catch (error) {
    // The backend closed under the run after Ctrl-C: nothing failed.
    if (interrupted) return EXIT.interrupted;
    // Redis stopped answering mid-run: say so in one line, as for an unreachable one.
    if (BudgetError.isInstance(error) && (error.code === 'BACKEND' || error.code === 'TIMEOUT')) {
      return fail(io, `the ${backend} backend failed during the run: ${error.message}`);
    }
    throw error;
  } finally {
    for (const signal of Object.keys(STOPPING)) process.removeListener(signal, onSignal);
    io.stdout.removeListener?.('error', onWriteError);
    // Already closed by `finish`, or after a failure: then that failure is the one to report.
    await sim.close().catch(() => {});
  }
}

/**
 * Lets the event loop run once a simulated minute: an in-process run never waits otherwise,
 * and a signal or a write error would only be heard after its end.
 */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Serves the live page until SIGINT or SIGTERM, then closes cleanly. */
async function serve(options: PlaygroundOptions, web: WebOptions, io: CliIO): Promise<number> {
  const { tenants, minutes, seed, backend, redisUrl } = options;
  let server: PlaygroundServer;
  try {
    server = await startServer(
      { tenants, minutes, seed, backend, redisUrl, speed: web.speed },
      web.port,
    );
  } catch (error) {
    if (error instanceof ServeError || error instanceof BackendUnavailable) {
      return fail(io, error.message);
    }
    throw error;
  }
  io.stdout.write(
    `budgetry playground: the live page is at ${server.url} (seed ${seed}, ${plural(tenants, 'tenant')}, ${plural(minutes, 'simulated minute')} at ${web.speed}× speed); Ctrl-C stops it\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (name: NodeJS.Signals) => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve(name);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  io.stdout.write(`budgetry playground: stopped (${signal})\n`);
  return EXIT.held;
}

/** 0 when conservation held and, with `--otel`, what was exported matched the run. */
function statusOf(result: RunResult): number {
  const exported = result.otel?.checks.every((c) => c.ok) ?? true;
  return result.held && exported ? EXIT.held : EXIT.broken;
}

function fail(io: CliIO, message: string): number {
  io.stderr.write(`budgetry playground: ${message}\n`);
  return EXIT.usage;
}

async function runPlain(sim: Simulation, io: CliIO, options: PlaygroundOptions): Promise<void> {
  const tenants = sim.profiles.map((p) => `${p.name} (${p.kind})`).join(', ');
  io.stdout.write(
    `budgetry playground: seed ${options.seed}, ${plural(options.minutes, 'simulated minute')}, ${sim.backend.description}\ntenants: ${tenants}\n${attachedLines(options)}`,
  );
  while (!sim.done) {
    const ended = await sim.step();
    if (ended !== undefined) {
      const line = renderIntervalLine(ended, options.minutes, refillsIn(sim.refills, ended));
      io.stdout.write(`${line}\n`);
      await breathe();
    }
  }
  io.stdout.write('\n');
}

/** What the run has attached, a line each: the AI SDK's middleware, OpenTelemetry. */
function attachedLines(options: PlaygroundOptions): string {
  const lines: string[] = [];
  if (options.aiSdk) {
    lines.push("calls: through @budgetry/ai-sdk's budgetMiddleware and the AI SDK's mock model");
  }
  if (options.otel !== undefined) {
    const { shadow } = options.otel;
    lines.push(
      `exported: through @budgetry/otel to the OpenTelemetry SDK's in-memory exporters${shadow === undefined ? '' : `, the ${shadow} budget in shadow mode`}`,
    );
  }
  return lines.map((line) => `${line}\n`).join('');
}

/** Redraws the live view in place a few times a second of wall time. */
async function runLive(sim: Simulation, io: CliIO): Promise<void> {
  const wait = io.sleep ?? sleep;
  let drawn = 0;
  const draw = () => {
    // A frame must fit the terminal: a wrapped or scrolled line breaks the redraw in place.
    // Columns or rows of 0 mean the size is unknown (some pseudo-terminals).
    const columns = io.stdout.columns || 120;
    const height = io.stdout.rows ? io.stdout.rows - 1 : undefined;
    const lines = renderLive(sim.snapshot(), { width: Math.max(60, columns), color: true, height })
      .slice(0, height)
      .map((l) => clip(l, columns));
    // Back to the top of the previous frame, then every line cleared as it is rewritten.
    const up = drawn > 0 ? `\x1b[${drawn}F` : '';
    io.stdout.write(`${up}${lines.map((l) => `${l}\x1b[K`).join('\n')}\n\x1b[J`);
    drawn = lines.length;
  };
  io.stdout.write('\x1b[?25l'); // hide the cursor while redrawing
  const restore = () => io.stdout.write('\x1b[?25h');
  // Ctrl-C ends the process through process.exit (see runCli), which runs this.
  process.once('exit', restore);
  try {
    draw();
    while (!sim.done) {
      for (let i = 0; i < STEPS_PER_FRAME && !sim.done; i++) await sim.step();
      await wait(FRAME_MS);
      draw();
    }
  } finally {
    restore();
    process.removeListener('exit', restore);
  }
  io.stdout.write('\n');
}
