import fc from 'fast-check';
import type { ResolvedOptions } from './check-options.js';
import { ConformanceError } from './conformance-error.js';
import type { InvariantId } from './invariant-catalog.js';
import { InvariantViolation } from './invariant-violation.js';
import { type ReplayToken, readReplayToken } from './replay.js';
import type { ScheduledWorld } from './scheduled-world.js';

/** @internal One invariant's property: how to build a run and what to check at quiescence. */
export interface InvariantRun<W extends ScheduledWorld> {
  invariant: InvariantId;
  subject: string;
  options: ResolvedOptions;
  commands: fc.Arbitrary<fc.AsyncCommand<W, W>>[];
  createWorld: (scheduler: fc.Scheduler, active: ReadonlySet<InvariantId>) => Promise<W> | W;
  quiescence: (world: W) => Promise<void>;
}

/**
 * @internal Runs one invariant as a scheduled model run and turns a failure into a
 * {@link ConformanceError} carrying the shrunk commands, the trace and the replay line.
 */
export async function runInvariant<W extends ScheduledWorld>(run: InvariantRun<W>): Promise<void> {
  const { options, invariant } = run;
  const envToken = options.replayFromEnv ? readReplayToken() : undefined;
  const token =
    envToken !== undefined &&
    (envToken.invariant === undefined || envToken.invariant === invariant) &&
    (envToken.subject === undefined || envToken.subject === run.subject)
      ? envToken
      : undefined;
  const seed = options.seed ?? token?.seed;
  const path = options.path ?? token?.path;
  const replayPath = options.replayPath ?? token?.replayPath;
  const active = new Set<InvariantId>([invariant]);

  const property = fc.asyncProperty(
    fc.scheduler(),
    fc.commands(run.commands, {
      maxCommands: options.maxCommands,
      ...(replayPath === undefined ? {} : { replayPath }),
    }),
    async (scheduler, commands) => {
      const world = await run.createWorld(scheduler, active);
      await fc.scheduledModelRun(scheduler, () => ({ model: world, real: world }), commands);
      world.rethrow();
      await world.drain();
      world.rethrow();
      await run.quiescence(world);
      world.rethrow();
    },
  );
  const details = await fc.check(property, {
    numRuns: options.numRuns,
    timeout: options.timeoutMs,
    ...(seed === undefined ? {} : { seed }),
    ...(path === undefined ? {} : { path }),
  });
  if (!details.failed) return;

  const error = details.errorInstance;
  const counterexample = details.counterexample;
  const commandsText = counterexample === null ? '' : String(counterexample[1]);
  const shownCommands = commandsText.replace(/\s*\/\*replayPath=.*\*\/\s*$/, '');
  const shrunkReplayPath = /\/\*replayPath="(.*)"\*\//.exec(commandsText)?.[1] ?? '';
  const ranCount =
    counterexample === null
      ? 0
      : [...(counterexample[1] as Iterable<{ hasRan?: boolean }>)].filter((c) => c.hasRan).length;
  const replay: ReplayToken = {
    invariant,
    subject: run.subject,
    seed: details.seed,
    path: details.counterexamplePath ?? '',
    replayPath: shrunkReplayPath,
  };
  const detail =
    error instanceof InvariantViolation
      ? error.message.slice(invariant.length + 2)
      : details.interrupted
        ? 'the run was interrupted'
        : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
  throw new ConformanceError({
    invariant: error instanceof InvariantViolation ? error.invariant : invariant,
    subject: run.subject,
    detail,
    commands: shownCommands === '' ? '(none)' : shownCommands,
    commandCount: ranCount,
    trace: counterexample === null ? '' : String(counterexample[0]),
    replay,
    cause: error,
  });
}

/** @internal Runs each invariant in turn; the first failure throws. */
export async function runInvariants<W extends ScheduledWorld>(
  ids: readonly InvariantId[],
  make: (id: InvariantId) => InvariantRun<W>,
): Promise<void> {
  for (const id of ids) await runInvariant(make(id));
}
