import fc from 'fast-check';
import type { ResolvedOptions } from './check-options.js';
import { ConformanceError } from './conformance-error.js';
import type { InvariantId } from './invariant-catalog.js';
import { InvariantViolation } from './invariant-violation.js';
import { type ReplayToken, readReplayToken } from './replay.js';
import type { ScheduledWorld } from './scheduled-world.js';

/** Schedules tried per candidate while shrinking. */
const SHRINK_SCHEDULES = 8;

/** @internal One invariant's property: how to build a run and what to check at quiescence. */
export interface InvariantRun<W extends ScheduledWorld> {
  invariant: InvariantId;
  /** Every invariant checked in this property (default: `[invariant]`). */
  together?: readonly InvariantId[];
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
    (envToken.invariant === undefined ||
      (run.together ?? [invariant]).includes(envToken.invariant as InvariantId)) &&
    (envToken.subject === undefined || envToken.subject === run.subject)
      ? envToken
      : undefined;
  const seed = options.seed ?? token?.seed;
  const path = options.path ?? token?.path;
  const replayPath = options.replayPath ?? token?.replayPath;
  const active = new Set<InvariantId>(run.together ?? [invariant]);

  // The schedule does not shrink, and a command removed by shrinking shifts every later
  // scheduling choice, so a smaller candidate usually runs under a different interleaving.
  // Once a failure is found (and when replaying), each candidate runs under the original
  // schedule and then further ones: a candidate that still hides the bug is kept, which lets
  // fast-check reach short counterexamples. The first schedule is always the run's own, so a
  // replayed counterexample fails exactly as reported.
  let shrinking = path !== undefined;
  let failedTrace = '';
  const execute = async (scheduler: fc.Scheduler, commands: Iterable<fc.AsyncCommand<W, W>>) => {
    const world = await run.createWorld(scheduler, active);
    await fc.scheduledModelRun(scheduler, () => ({ model: world, real: world }), commands);
    world.rethrow();
    await world.drain();
    world.rethrow();
    await run.quiescence(world);
    world.rethrow();
  };
  const property = fc.asyncProperty(
    // fc.scheduler() clones the random source without advancing it: a draw in between makes
    // the schedules differ.
    fc.tuple(
      ...Array.from({ length: SHRINK_SCHEDULES }, () =>
        fc.tuple(fc.noShrink(fc.nat()), fc.scheduler()).map(([, s]) => s),
      ),
    ),
    fc.commands(run.commands, {
      maxCommands: options.maxCommands,
      ...(replayPath === undefined ? {} : { replayPath }),
    }),
    async (schedulers, commands) => {
      const tries = shrinking ? schedulers : schedulers.slice(0, 1);
      for (const scheduler of tries) {
        try {
          await execute(scheduler, commands);
        } catch (error) {
          shrinking = true;
          failedTrace = String(scheduler);
          throw error;
        }
      }
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
  const replay: { -readonly [K in keyof ReplayToken]: ReplayToken[K] } = {
    invariant,
    subject: run.subject,
    seed: details.seed,
    path: details.counterexamplePath ?? '',
    replayPath: shrunkReplayPath,
  };
  if (error instanceof InvariantViolation) replay.invariant = error.invariant;
  const detail =
    error instanceof InvariantViolation
      ? error.message.slice(error.invariant.length + 2)
      : details.interrupted
        ? 'the run was interrupted'
        : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
  throw new ConformanceError({
    invariant: error instanceof InvariantViolation ? error.invariant : invariant,
    subject: run.subject,
    detail,
    commands: shownCommands === '' ? '(none)' : shownCommands,
    commandCount: ranCount,
    trace: failedTrace,
    replay,
    cause: error,
  });
}

/**
 * @internal Runs the invariants: each as its own property when the caller selected them
 * (`separately`), else all in one property whose every run checks every invariant, which
 * gives each invariant the same number of runs in a fraction of the time and reports the
 * first invariant a run breaks.
 */
export async function runInvariants<W extends ScheduledWorld>(
  ids: readonly InvariantId[],
  make: (id: InvariantId) => InvariantRun<W>,
  separately = true,
): Promise<void> {
  if (ids.length === 0) return;
  if (!separately) {
    await runInvariant({ ...make(ids[0]!), together: ids });
    return;
  }
  for (const id of ids) await runInvariant(make(id));
}
